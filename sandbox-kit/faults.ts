/** Fault injection: the settings `/_sandbox/faults` reads and writes, applied to the agency's routes. */
import { invalid, type Dialect } from "./errors";
import { jsonObject } from "./http";

export interface Faults {
  /** Delay before handling, in milliseconds. */
  latencyMs: number;
  /** Share of requests answered 500 before anything is done. */
  errorRate: number;
  /** Share of requests never answered (the socket is held until the client goes away). */
  timeoutRate: number;
  /** Every request answered 503. */
  outage: boolean;
  /** Share of requests answered with the success status and a body that breaks the format; nothing is done. */
  malformedRate: number;
  /** Share of requests carried out and committed, whose answer is then lost (socket destroyed). */
  lostResponseRate: number;
}

export const NO_FAULTS: Readonly<Faults> = { latencyMs: 0, errorRate: 0, timeoutRate: 0, outage: false, malformedRate: 0, lostResponseRate: 0 };

const TYPES: Record<string, string> = {
  latencyMs: "number",
  errorRate: "number",
  timeoutRate: "number",
  outage: "boolean",
  malformedRate: "number",
  lostResponseRate: "number",
};

/** A PUT body as new settings (fields left out are off), or the reason it is refused. */
export function parseFaults(value: unknown, dialect: Dialect): Faults {
  const body = jsonObject(value, dialect);
  for (const key of Object.keys(body)) if (!(key in TYPES)) throw invalid(dialect, `unknown field "${key}"`);
  for (const [key, type] of Object.entries(TYPES)) if (key in body && typeof body[key] !== type) throw invalid(dialect, `field "${key}" must be a ${type}`);
  const faults = { ...NO_FAULTS, ...body } as Faults;
  if (!Number.isInteger(faults.latencyMs) || faults.latencyMs < 0 || faults.latencyMs > 60_000)
    throw invalid(dialect, "latencyMs must be a whole number from 0 to 60000");
  for (const key of ["errorRate", "timeoutRate", "malformedRate", "lostResponseRate"] as const)
    if (!(faults[key] >= 0 && faults[key] <= 1)) throw invalid(dialect, `${key} must be a number from 0 to 1`);
  return faults;
}

export const hit = (rate: number) => rate > 0 && Math.random() < rate;
