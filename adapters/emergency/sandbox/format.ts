/**
 * The CAD's own reading of what it is sent, and its error dialect `{errorCode, errorMessage}`.
 * Of a CAP 1.2 alert it reads only what it stores and acts on (its identity, `sent`,
 * `msgType`, `references`, the `responseType`s), with fast-xml-parser directly and by the
 * CAP 1.2 specification, not with the hub's CAP code: a CAP mistake of the adapter's is then
 * refused here rather than shared.
 */
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { CodeMessageError, HTTP_STYLE_CODES, invalid, type Dialect } from "../../../sandbox-kit/errors";

/** An answer in the agency's own error format: `{errorCode, errorMessage, ...extra}`. */
export class AgencyError extends CodeMessageError {}

export const EMERGENCY: Dialect = {
  error: (status, code, message) => new AgencyError(status, code, message),
  codes: HTTP_STYLE_CODES,
  maxBodyBytes: 128 * 1024,
  // The CAD names the accepted types by their pattern.
  mediaTypeName: (accepts) => accepts.source,
};

export type UnitType = "FIRE_ENGINE" | "AMBULANCE" | "POLICE" | "HAZMAT";
const UNIT_TYPES: UnitType[] = ["FIRE_ENGINE", "AMBULANCE", "POLICE", "HAZMAT"];

/** An alert as the CAD keeps it. */
export interface CadAlert {
  sender: string;
  identifier: string;
  sent: string;
  msgType: string;
  references: { sender: string; identifier: string; sent: string }[];
  /** The `responseType`s of all its `info` blocks. */
  responseTypes: string[];
}

type Problem = { pointer: string; detail: string };

const CAP_12 = "urn:oasis:names:tc:emergency:cap:1.2";
const MSG_TYPES = ["Alert", "Update", "Cancel", "Ack", "Error"];
/** CAP 1.2 §3.2.1: identifier and sender without spaces, commas or the restricted characters < and &. */
const isCapId = (v: string) => /^[^\s,<&]+$/.test(v);
/** CAP 1.2 §3.3.2: a date-time with an explicit offset, no fractions, no "Z"; one that exists (the CAD orders alerts by it). */
const isCapDateTime = (v: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$/.test(v) && !Number.isNaN(Date.parse(v));

const local = (name: string) => name.slice(name.indexOf(":") + 1);
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  parseTagValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name) => ["info", "responseType"].includes(local(name)),
});

const invalidCap = (problems: Problem[]) =>
  new AgencyError(400, "INVALID_CAP", `the CAP 1.2 alert is invalid: ${problems.map((p) => `${p.pointer || "/"} ${p.detail}`).join("; ")}`, { problems });

/** The `<alert>` element and its namespace prefix, or the reason the document is not a CAP 1.2 alert. */
function alertElement(xml: string): { alert: Record<string, unknown>; prefix: string } {
  // No DOCTYPE, so no entity of the sender's own can expand.
  if (/<!DOCTYPE/i.test(xml)) throw invalidCap([{ pointer: "", detail: "a DOCTYPE is not accepted" }]);
  const checked = XMLValidator.validate(xml);
  if (checked !== true) throw invalidCap([{ pointer: "", detail: `not well-formed XML: ${checked.err.msg} (line ${checked.err.line})` }]);
  const roots = Object.entries(parser.parse(xml) as Record<string, unknown>);
  const [name, alert] = roots[0] ?? [];
  if (roots.length !== 1 || !name || local(name) !== "alert" || typeof alert !== "object" || alert === null)
    throw invalidCap([{ pointer: "", detail: "the document is not one <alert> with elements" }]);
  const prefix = name.includes(":") ? name.slice(0, name.indexOf(":") + 1) : "";
  const ns = (alert as Record<string, unknown>)[prefix ? `@xmlns:${prefix.slice(0, -1)}` : "@xmlns"];
  if (ns !== CAP_12) throw invalidCap([{ pointer: "", detail: `<alert> is not in the namespace ${CAP_12}` }]);
  return { alert: alert as Record<string, unknown>, prefix };
}

/** The CAP 1.2 alert in `xml`, or an INVALID_CAP refusal listing every problem found. */
export function readAlert(xml: string): CadAlert {
  const { alert, prefix } = alertElement(xml);
  const problems: Problem[] = [];
  const text = (value: unknown, pointer: string, valid = (_: string) => true, says = ""): string => {
    if (typeof value !== "string" || value === "") problems.push({ pointer, detail: "must appear once, as text" });
    else if (!valid(value)) problems.push({ pointer, detail: says });
    return typeof value === "string" ? value : "";
  };
  const element = (name: string) => alert[prefix + name];
  const idSays = "must have no spaces, commas, < or &";
  const read = {
    identifier: text(element("identifier"), "/identifier", isCapId, idSays),
    sender: text(element("sender"), "/sender", isCapId, idSays),
    sent: text(element("sent"), "/sent", isCapDateTime, "must be a CAP date-time, such as 2026-03-01T08:15:00+08:00"),
    msgType: text(element("msgType"), "/msgType", (v) => MSG_TYPES.includes(v), `must be one of ${MSG_TYPES.join(", ")}`),
  };
  const entries = element("references") === undefined ? [] : text(element("references"), "/references").split(/\s+/).filter(Boolean);
  const references = entries.map((entry, i) => {
    const [sender = "", identifier = "", sent = "", ...more] = entry.split(",");
    if (more.length || !isCapId(sender) || !isCapId(identifier) || !isCapDateTime(sent))
      problems.push({ pointer: `/references/${i}`, detail: "must be sender,identifier,sent" });
    return { sender, identifier, sent };
  });
  const responseTypes: string[] = [];
  ((element("info") ?? []) as unknown[]).forEach((info, i) => {
    const types = typeof info === "object" && info !== null ? (info as Record<string, unknown>)[prefix + "responseType"] : undefined;
    ((types ?? []) as unknown[]).forEach((type, j) => responseTypes.push(text(type, `/info/${i}/responseType/${j}`)));
  });
  if (problems.length) throw invalidCap(problems);
  return { ...read, references, responseTypes };
}

/** A dispatch request: `{units: [{type, count}]}`, 1 to 4 unit requests of 1 to 10 units. */
export function readDispatchRequest(body: Record<string, unknown>): { type: UnitType; count: number }[] {
  const units = body.units;
  if (Object.keys(body).some((k) => k !== "units")) throw invalid(EMERGENCY, 'only the field "units" is allowed');
  if (!Array.isArray(units) || units.length === 0 || units.length > 4) throw invalid(EMERGENCY, "units must be a list of 1 to 4 {type, count}");
  for (const u of units as Record<string, unknown>[])
    if (
      typeof u !== "object" ||
      u === null ||
      !UNIT_TYPES.includes(u.type as UnitType) ||
      !Number.isInteger(u.count) ||
      (u.count as number) < 1 ||
      (u.count as number) > 10
    )
      throw invalid(EMERGENCY, `each unit request is {type: ${UNIT_TYPES.join("|")}, count: 1 to 10}`);
  return units as { type: UnitType; count: number }[];
}
