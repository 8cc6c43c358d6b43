/**
 * OASIS CAP 1.2 alerts between XML and the contract's JSON form (`CapAlert`): parsing checks
 * well-formedness, the root element and its namespace, which elements may appear where and
 * how often, and the `references` format; the element values are then checked against the
 * `CapAlert` schema, so the CAP rules (enumerations, date-times with offsets, required
 * elements) are written once. Every problem is reported, each with a JSON pointer into the
 * alert's JSON form (`/info/0/area/1/areaDesc`). The sandbox reads CAP its own way
 * (sandbox/format.ts), so that a mistake here does not go unnoticed there.
 */
import { XMLBuilder, XMLParser, XMLValidator } from "fast-xml-parser";
import { ajv, contractSchema, violations, type ContractViolation } from "../../contracts";
import type { components } from "../../contracts/generated/types";

export type CapAlert = components["schemas"]["CapAlert"];
export const CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2";

/** A CAP document that cannot be taken: each problem with a pointer into the alert's JSON form. */
export class CapError extends Error {
  constructor(readonly problems: { pointer: string; detail: string }[]) {
    super(`the CAP 1.2 alert is invalid: ${problems.map((p) => `${p.pointer || "/"} ${p.detail}`).join("; ")}`);
  }
}

type Kind = "text" | "texts" | "number" | "pairs" | "references" | { group: Record<string, Kind> };

const PAIRS: Kind = "pairs";
const AREA: Record<string, Kind> = { areaDesc: "text", polygon: "texts", circle: "texts", geocode: PAIRS, altitude: "number", ceiling: "number" };
const INFO: Record<string, Kind> = {
  language: "text",
  category: "texts",
  event: "text",
  responseType: "texts",
  urgency: "text",
  severity: "text",
  certainty: "text",
  audience: "text",
  eventCode: PAIRS,
  effective: "text",
  onset: "text",
  expires: "text",
  senderName: "text",
  headline: "text",
  description: "text",
  instruction: "text",
  web: "text",
  contact: "text",
  parameter: PAIRS,
  area: { group: AREA },
};
/** The elements of `alert`, in the order CAP 1.2 gives them (and the builder writes them). */
const ALERT: Record<string, Kind> = {
  identifier: "text",
  sender: "text",
  sent: "text",
  status: "text",
  msgType: "text",
  source: "text",
  scope: "text",
  restriction: "text",
  addresses: "text",
  code: "texts",
  note: "text",
  references: "references",
  incidents: "text",
  info: { group: INFO },
};
/** CAP elements the contract does not carry: accepted and left out. */
const NOT_CARRIED = new Set(["resource"]);
const REPEATABLE = new Set(["code", "info", "category", "responseType", "eventCode", "parameter", "resource", "area", "polygon", "circle", "geocode"]);
const MAX_XML_CHARS = 65536;

const local = (name: string) => name.replace(/^[^:]*:/, "");

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
  isArray: (name) => REPEATABLE.has(local(name)),
});

const validateAlert = ajv.getSchema((contractSchema("CapAlert") as { $ref: string }).$ref)!;

/** Parses CAP 1.2 XML into the contract's JSON form, or throws CapError listing every problem. */
export function parseCap(xml: string): CapAlert {
  if (xml.length > MAX_XML_CHARS) throw new CapError([{ pointer: "", detail: `the XML is longer than ${MAX_XML_CHARS} characters` }]);
  if (/<!DOCTYPE/i.test(xml)) throw new CapError([{ pointer: "", detail: "a DOCTYPE is not allowed in a CAP alert" }]);
  const wellFormed = XMLValidator.validate(xml);
  if (wellFormed !== true)
    throw new CapError([
      { pointer: "", detail: `the XML is not well-formed: ${wellFormed.err.msg} (line ${wellFormed.err.line}, column ${wellFormed.err.col})` },
    ]);
  const doc = parser.parse(xml) as Record<string, unknown>;
  const roots = Object.keys(doc).filter((k) => !k.startsWith("#") && !k.startsWith("?"));
  if (roots.length !== 1 || local(roots[0]!) !== "alert")
    throw new CapError([{ pointer: "", detail: `the root element must be a CAP <alert>, found ${roots.map((r) => `<${r}>`).join(", ") || "none"}` }]);
  const rootName = roots[0]!;
  const root = doc[rootName];
  const prefix = rootName.includes(":") ? rootName.slice(0, rootName.indexOf(":")) : "";
  const nsAttr = prefix ? `@_xmlns:${prefix}` : "@_xmlns";
  const ns = root && typeof root === "object" ? (root as Record<string, unknown>)[nsAttr] : undefined;
  if (ns !== CAP_NAMESPACE)
    throw new CapError([
      { pointer: "", detail: `the <alert> element must be in the namespace ${CAP_NAMESPACE}${typeof ns === "string" ? `, not ${ns}` : ""}` },
    ]);

  const problems: { pointer: string; detail: string }[] = [];
  const alert = readGroup(root, ALERT, "", prefix, problems);
  if (problems.length) throw new CapError(problems);
  if (!validateAlert(alert)) throw new CapError(violations("body", validateAlert.errors).map(({ pointer, detail }) => ({ pointer, detail })));
  return alert as unknown as CapAlert;
}

function readGroup(
  node: unknown,
  spec: Record<string, Kind>,
  at: string,
  prefix: string,
  problems: { pointer: string; detail: string }[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (node === "" || node === undefined) return out;
  if (typeof node !== "object" || node === null || Array.isArray(node)) {
    problems.push({ pointer: at, detail: "must contain elements, not text" });
    return out;
  }
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (key.startsWith("@_")) continue; // namespace declarations; CAP elements have no other attributes
    if (key === "#text") {
      problems.push({ pointer: at, detail: "must contain elements, not text" });
      continue;
    }
    const keyPrefix = key.includes(":") ? key.slice(0, key.indexOf(":")) : "";
    if (keyPrefix !== prefix) {
      if (keyPrefix) continue; // another namespace (a signature, an extension): not CAP, not carried
      problems.push({ pointer: `${at}/${key}`, detail: "is not in the CAP 1.2 namespace" });
      continue;
    }
    const name = local(key);
    const kind = spec[name];
    if (NOT_CARRIED.has(name)) continue;
    if (!kind) {
      problems.push({ pointer: `${at}/${name}`, detail: "is not a CAP 1.2 element here" });
      continue;
    }
    const pointer = `${at}/${name}`;
    const repeatable = REPEATABLE.has(name);
    if (!repeatable && Array.isArray(value)) {
      problems.push({ pointer, detail: "may appear only once" });
      continue;
    }
    if (typeof kind === "object") {
      out[name] = (value as unknown[]).map((item, i) => readGroup(item, kind.group, `${pointer}/${i}`, prefix, problems));
    } else if (kind === "pairs") {
      out[name] = (value as unknown[]).map((item, i) => readGroup(item, { valueName: "text", value: "text" }, `${pointer}/${i}`, prefix, problems));
    } else if (kind === "texts") {
      out[name] = (value as unknown[]).map((item, i) => text(item, `${pointer}/${i}`, problems));
    } else {
      const t = text(value, pointer, problems);
      if (kind === "number") out[name] = t !== "" && Number.isFinite(Number(t)) ? Number(t) : t;
      else if (kind === "references") out[name] = references(t, pointer, problems);
      else out[name] = t;
    }
  }
  return out;
}

function text(value: unknown, pointer: string, problems: { pointer: string; detail: string }[]): string {
  if (typeof value === "string") return value;
  problems.push({ pointer, detail: "must be text, without attributes or child elements" });
  return "";
}

function references(value: string, pointer: string, problems: { pointer: string; detail: string }[]): unknown[] {
  const entries = value.split(/\s+/).filter(Boolean);
  return entries.map((entry, i) => {
    const parts = entry.split(",");
    if (parts.length !== 3) {
      problems.push({ pointer: `${pointer}/${i}`, detail: `"${entry.slice(0, 80)}" must be sender,identifier,sent` });
      return {};
    }
    return { sender: parts[0], identifier: parts[1], sent: parts[2] };
  });
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: "@_", format: true, indentBy: "  ", suppressEmptyNode: false });

/** CAP 1.2 XML of an alert in the contract's JSON form, elements in the order CAP gives them. */
export function buildCap(alert: CapAlert): string {
  const ordered = (value: Record<string, unknown>, spec: Record<string, Kind>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [name, kind] of Object.entries(spec)) {
      const v = value[name];
      if (v === undefined) continue;
      if (typeof kind === "object") out[name] = (v as Record<string, unknown>[]).map((item) => ordered(item, kind.group));
      else if (kind === "pairs") out[name] = (v as Record<string, unknown>[]).map((p) => ({ valueName: p.valueName, value: p.value }));
      else if (kind === "references")
        out[name] = (v as { sender: string; identifier: string; sent: string }[]).map((r) => `${r.sender},${r.identifier},${r.sent}`).join(" ");
      else out[name] = kind === "number" ? String(v) : v;
    }
    return out;
  };
  const body = builder.build({ alert: { "@_xmlns": CAP_NAMESPACE, ...ordered(alert as unknown as Record<string, unknown>, ALERT) } }) as string;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}

/** The problems of a CapError as a request's `errors[]`. */
export const capViolations = (err: CapError): ContractViolation[] => err.problems.map((p) => ({ in: "body", ...p }));
