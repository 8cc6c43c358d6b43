/**
 * No personal data in logs: every log line of a hub process passes through here. Fields that
 * hold names, id numbers or addresses are replaced whole, wherever they nest; resident id
 * numbers are masked inside any text (error messages included). The line is redacted as it is
 * serialised (one pass, no copy of it), at every depth.
 */
import { inspect } from "node:util";

const PERSONAL_KEYS =
  /^(name|names|fullname|full_name|holdername|holder_nm|newholder|new_holder|previousholder|prev_holder|idnumber|idnumbers|citizenno|citizennos|citizen_no|holder_id|id_no|address|addr_line|street|householdaddress|applicants|credential)$/i;
const RESIDENT_ID = /(?<![0-9A-Za-z])[1-9]\d{16}[\dXx](?![0-9A-Za-z])/g;

/** A compact JWS (an e-ID credential is one): three base64url parts, the first a JSON header (`eyJ`). */
const COMPACT_JWS = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+/g;

/** An id number is 18 characters: shorter text cannot hold one. */
const masked = (text: string) => (text.length < 18 ? text : text.replace(RESIDENT_ID, "[id-number]"));

/** Free text that leaves the hub (an event's reason): id numbers and e-ID credentials masked. */
export const maskedText = (text: string) => masked(text).replace(COMPACT_JWS, "[credential]");

/** JSON.stringify's replacer: a personal field whole, an id number in any text (an error's stack included). */
function redacting(key: string, value: unknown): unknown {
  if (key !== "" && PERSONAL_KEYS.test(key)) return "[redacted]";
  if (typeof value === "string") return masked(value);
  if (value instanceof Error) return masked(value.stack ?? value.message);
  return value;
}

/** `value` as the log line would hold it. */
export function redact(value: unknown): unknown {
  const text = JSON.stringify(value, redacting);
  return text === undefined ? undefined : JSON.parse(text);
}

/** Moleculer's `jsonext` log format, redacted. */
export function redactingFormatter(type: string, args: unknown[], bindings: Record<string, unknown>): string[] {
  const line: Record<string, unknown> = { time: new Date().toISOString(), level: type, message: "", ...bindings };
  const [first, ...rest] = args;
  const texts = hasFields(first) ? (Object.assign(line, first), rest) : args;
  line.message = texts.map(asText).join(" ");
  return [JSON.stringify(line, redacting)];
}

/** A plain object of fields to merge into the line (not an error, nor an object with nothing enumerable to show). */
const hasFields = (v: unknown): v is object => typeof v === "object" && v !== null && !(v instanceof Error) && Object.keys(v).length > 0;

/** An error as its stack; an object as JSON, or, when JSON would say `{}` (a rejection's odd value, say), its message or as Node shows it. */
function asText(t: unknown): string {
  if (t instanceof Error) return t.stack || t.message || inspect(t);
  if (hasFields(t)) return JSON.stringify(t);
  if (typeof t !== "object" || t === null) return String(t);
  const { message } = t as { message?: unknown };
  return typeof message === "string" ? message : inspect(t, { depth: 2, breakLength: Infinity });
}
