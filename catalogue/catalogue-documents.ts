/**
 * What the catalogue shows of a service's OpenAPI document: its description, its operations'
 * summaries and the purposes it declares. Documents may be megabytes, so each is read once
 * per version (keyed by the row's updated_at) and kept in memory as this small summary.
 */
import type { Queryable } from "../platform/db";
import { parseDocument } from "./document-read";
import { isObject } from "./json-pointer";

export interface DocumentSummary {
  description: string;
  /** `info.contact.name`, a name the provider gives itself. */
  contactName?: string;
  /** "METHOD /path" → the operation's summary. */
  summaries: Map<string, string>;
  /** `x-purposes` at the top of the document and on its operations. */
  purposes: string[];
}

/** Longest description shown; the document has the rest. */
const MAX_DESCRIPTION = 2000;
const HTTP_METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

const texts = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []);

export function summarise(text: string): DocumentSummary {
  const raw = parseDocument(text);
  const info = isObject(raw.info) ? raw.info : {};
  const contact = isObject(info.contact) && typeof info.contact.name === "string" ? info.contact.name : undefined;
  const summaries = new Map<string, string>();
  const purposes = new Set(texts(raw["x-purposes"]));
  for (const [path, item] of Object.entries(isObject(raw.paths) ? raw.paths : {})) {
    if (!isObject(item)) continue;
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const summary = typeof op.summary === "string" ? op.summary : typeof op.operationId === "string" ? op.operationId : "";
      summaries.set(`${method.toUpperCase()} ${path}`, summary);
      for (const p of texts(op["x-purposes"])) purposes.add(p);
    }
  }
  const description = typeof info.description === "string" ? info.description.slice(0, MAX_DESCRIPTION) : "";
  return { description, ...(contact ? { contactName: contact } : {}), summaries, purposes: [...purposes].sort() };
}

const EMPTY: DocumentSummary = { description: "", summaries: new Map(), purposes: [] };
const cache = new Map<string, { version: string; summary: DocumentSummary }>();

/** The summaries of the services named (id → row version), reading only documents not seen at that version. */
export async function documentSummaries(db: Queryable, versions: Map<string, string>): Promise<Map<string, DocumentSummary>> {
  for (const id of cache.keys()) if (!versions.has(id)) cache.delete(id);
  const stale = [...versions].filter(([id, version]) => cache.get(id)?.version !== version).map(([id]) => id);
  if (stale.length) {
    const rows = await db.query<{ id: string; document: string; version: string }>(
      "SELECT id, document, updated_at::text AS version FROM hub.catalogue_service WHERE id = ANY($1::text[])",
      [stale],
    );
    for (const row of rows) {
      let summary = EMPTY;
      try {
        summary = summarise(row.document);
      } catch {
        // A registered document was read before; one that no longer reads shows no details.
      }
      cache.set(row.id, { version: row.version, summary });
    }
  }
  return new Map([...versions.keys()].map((id) => [id, cache.get(id)?.summary ?? EMPTY]));
}
