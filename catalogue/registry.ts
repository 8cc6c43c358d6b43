/**
 * The catalogue in the database: providers' services with their OpenAPI documents, and the
 * access rights of client subsystems on them. Every change here is announced by the
 * catalogue service (service.ts), so every gateway drops what it cached.
 */
import type { components } from "../contracts/generated/types";
import type { Queryable } from "../platform/db";
import { HubError } from "../platform/errors";
import { readServiceDocument, type ServiceDocument } from "./document";
import { parseServiceId, serviceIdOf, type ServiceParts } from "./identifiers";

type Schemas = components["schemas"];
export type CatalogueService = Schemas["CatalogueService"];
type Method = Schemas["ServiceMethod"];

export const DEFAULT_TIMEOUT_MS = 10_000;

export interface ServiceRow {
  id: string;
  subsystem: string;
  service_code: string;
  base_url: string;
  auth: string;
  timeout_ms: number;
  document: string;
  methods: Method[];
  title: string;
  version: string;
  disabled_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
  /** A built-in agency's operation, its document from the hub's contract (builtin-services.ts). */
  builtin: boolean;
  /** The token scope the contract asks of a built-in operation; null for registered services. */
  contract_scope: string | null;
}

export function toService(r: ServiceRow): CatalogueService {
  return {
    id: r.id,
    ...parseServiceId(r.id),
    title: r.title,
    version: r.version,
    baseUrl: r.base_url,
    auth: r.auth,
    timeoutMs: r.timeout_ms,
    disabled: r.disabled_at !== null,
    builtin: r.builtin,
    methods: r.methods,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

const methodsOf = (doc: ServiceDocument): Method[] =>
  doc.operations.map((op) => ({
    method: op.method as Method["method"],
    path: op.path,
    personalData: op.personalData,
    ...(op.linkage ? { linkage: op.linkage } : {}),
  }));

/** Registers a service (the base URL already checked); a service of that id is a 409. */
export async function addService(
  db: Queryable,
  p: ServiceParts & { openapi: string; baseUrl: string; auth?: string; timeoutMs?: number },
): Promise<CatalogueService> {
  const doc = readServiceDocument(p.openapi);
  const id = serviceIdOf(p);
  const [row] = await db.query<ServiceRow>(
    `INSERT INTO hub.catalogue_service (id, subsystem, service_code, base_url, auth, timeout_ms, document, methods, title, version)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING RETURNING *`,
    [
      id,
      id.slice(0, id.lastIndexOf("/")),
      p.serviceCode,
      p.baseUrl.replace(/\/$/, ""),
      p.auth ?? "none",
      p.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      p.openapi,
      JSON.stringify(methodsOf(doc)),
      doc.title,
      doc.version,
    ],
  );
  if (!row) throw new HubError("HUB_ERR_SERVICE_EXISTS", `A service ${id} is registered already; update its document with services update`);
  return toService(row);
}

/** A new document for a service; rights on methods the document no longer has are dropped. */
export async function updateService(db: Queryable, id: string, openapi: string): Promise<CatalogueService> {
  const doc = readServiceDocument(openapi);
  const methods = methodsOf(doc);
  const [row] = await db.query<ServiceRow>(
    "UPDATE hub.catalogue_service SET document = $2, methods = $3, title = $4, version = $5, updated_at = now() WHERE id = $1 RETURNING *",
    [id, openapi, JSON.stringify(methods), doc.title, doc.version],
  );
  if (!row) throw notFound(id);
  await db.query(
    `DELETE FROM hub.catalogue_grant WHERE service_id = $1 AND method <> '*'
       AND NOT (method || ' ' || path = ANY($2::text[]))`,
    [id, methods.map((m) => `${m.method} ${m.path}`)],
  );
  return toService(row);
}

export const notFound = (id: string) => new HubError("HUB_ERR_SERVICE_NOT_FOUND", `No service ${id} in the catalogue`);

export async function findService(db: Queryable, id: string): Promise<ServiceRow | undefined> {
  const [row] = await db.query<ServiceRow>("SELECT * FROM hub.catalogue_service WHERE id = $1", [id]);
  return row;
}

/** A service's row without its document (which may be megabytes), and the document's MD5, to tell whether it changed. */
export type ServiceMeta = Omit<ServiceRow, "document"> & { document_md5: string };

export async function findServiceMeta(db: Queryable, id: string): Promise<ServiceMeta | undefined> {
  const [row] = await db.query<ServiceMeta>(
    `SELECT id, subsystem, service_code, base_url, auth, timeout_ms, methods, title, version, disabled_at, created_at, updated_at, builtin, contract_scope,
       md5(document) AS document_md5
     FROM hub.catalogue_service WHERE id = $1`,
    [id],
  );
  return row;
}

export async function documentText(db: Queryable, id: string): Promise<string> {
  const [row] = await db.query<{ document: string }>("SELECT document FROM hub.catalogue_service WHERE id = $1", [id]);
  if (!row) throw notFound(id);
  return row.document;
}

export async function getService(db: Queryable, id: string): Promise<ServiceRow> {
  const row = await findService(db, id);
  if (!row) throw notFound(id);
  return row;
}

export async function listServices(db: Queryable, subsystem?: string): Promise<ServiceRow[]> {
  return db.query<ServiceRow>("SELECT * FROM hub.catalogue_service WHERE ($1::text IS NULL OR subsystem = $1) ORDER BY id", [subsystem ?? null]);
}

export async function setDisabled(db: Queryable, id: string, disabled: boolean): Promise<CatalogueService> {
  const [row] = await db.query<ServiceRow>(
    `UPDATE hub.catalogue_service SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END, updated_at = now() WHERE id = $1 RETURNING *`,
    [id, disabled],
  );
  if (!row) throw notFound(id);
  return toService(row);
}

export async function removeService(db: Queryable, id: string): Promise<boolean> {
  return (await db.query("DELETE FROM hub.catalogue_service WHERE id = $1 RETURNING 1", [id])).length > 0;
}

/** The enabled services with an operation for `linkage` (x-linkage), that operation each, by service id. */
export async function linkedServices(db: Queryable, linkage: string): Promise<{ service: string; method: "PUT" | "POST" | "PATCH"; path: string }[]> {
  return db.query(
    `SELECT s.id AS service, m->>'method' AS method, m->>'path' AS path
     FROM hub.catalogue_service s, jsonb_array_elements(s.methods) m
     WHERE s.disabled_at IS NULL AND m->>'linkage' = $1 ORDER BY s.id`,
    [linkage],
  );
}
