/**
 * Whether a broker writes log lines of a level. Moleculer's logger has no such question: a
 * line is built, then dropped by the logger when its level is off. Lines written on every
 * request (the access line, the call log) are built only when they will be written.
 */
import type { ServiceBroker } from "moleculer";

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof LEVELS)[number];

/** True unless the broker's logger is known to drop `level` (an unknown logger setup counts as writing it). */
export function logsAt(broker: ServiceBroker, level: LogLevel): boolean {
  const logger = broker.options.logger as unknown;
  if (logger === false || logger === null) return false;
  const set = typeof logger === "object" && !Array.isArray(logger) ? (logger as { options?: { level?: unknown } }).options?.level : undefined;
  if (typeof set !== "string" || !LEVELS.includes(set as LogLevel)) return true;
  return LEVELS.indexOf(level) <= LEVELS.indexOf(set as LogLevel);
}
