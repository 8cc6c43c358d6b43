/**
 * Which supplies an incident endangers, read from its CAP `event` text: a gas leak
 * (or gas explosion) the gas, an electrical fire (or a live wire) the power. CAP has no
 * code list for events, so this reads the words agencies use, in English and Chinese.
 * Weather (`Met`) is left out: an "electrical storm" endangers no supply of its own.
 */
import type { components } from "../../contracts/generated/types";

type Service = components["schemas"]["UtilityService"];

const HAZARDS: [RegExp, Service][] = [
  [/\bgas\b|燃气|煤气|天然气/i, "gas"],
  [/\belectric(al)?\b|\bpower line\b|\blive wire\b|电气|电器|电线|触电/i, "power"],
];

export function servicesAtRisk(incident: { event: string; category: string }): Service[] {
  if (incident.category === "Met") return [];
  const { event } = incident;
  return HAZARDS.filter(([words]) => words.test(event)).map(([, service]) => service);
}
