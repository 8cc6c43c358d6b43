/**
 * No personal data in logs: every log line of a hub process passes through here. Fields that
 * hold names, id numbers or addresses are replaced whole, wherever they nest; resident id
 * numbers are masked inside any text (error messages included).
 */
const PERSONAL_KEYS =
  /^(name|names|fullname|full_name|holdername|holder_nm|newholder|new_holder|previousholder|prev_holder|idnumber|idnumbers|citizenno|citizennos|citizen_no|holder_id|id_no|address|addr_line|street|householdaddress|applicants|credential)$/i;
const RESIDENT_ID = /(?<![0-9A-Za-z])[1-9]\d{16}[\dXx](?![0-9A-Za-z])/g;

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return value.replace(RESIDENT_ID, "[id-number]");
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return redact(value.stack ?? value.message, depth);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, PERSONAL_KEYS.test(k) ? "[redacted]" : redact(v, depth + 1)]));
}

/** Moleculer's `jsonext` log format, redacted. */
export function redactingFormatter(type: string, args: unknown[], bindings: Record<string, unknown>): string[] {
  const line: Record<string, unknown> = { time: new Date().toISOString(), level: type, message: "", ...bindings };
  const [first, ...rest] = args;
  const texts = first && typeof first === "object" && !(first instanceof Error) ? (Object.assign(line, first), rest) : args;
  line.message = texts
    .map((t) => (t && typeof t === "object" && !(t instanceof Error) ? JSON.stringify(t) : t instanceof Error ? (t.stack ?? t.message) : String(t)))
    .join(" ");
  return [JSON.stringify(redact(line))];
}
