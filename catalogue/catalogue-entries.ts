/**
 * The catalogue as people and partners see it (GET /v1/catalogue, the /catalogue page):
 * every enabled service of the catalogue, registered or built-in alike, and every linkage
 * type of the hub, each with its provider, operations, purposes and links.
 *
 * Purposes: what a document declares (`x-purposes`) is the provider's own word and is shown
 * first; a document that declares none shows the purposes its access rights allow (what it is
 * actually used for); the hub's linkages, the purposes the contract names for them
 * (`x-linkage-types`), which are the DataPurpose values their exchanges are checked against.
 */
import { openapi, operations } from "../contracts";
import type { components } from "../contracts/generated/types";
import type { Queryable } from "../platform/db";
import { listPartners } from "../partners/registry";
import { BUILTIN_AGENCIES, builtinSubsystemId, type BuiltinAgency } from "./builtin-ids";
import { byId } from "./catalogue-search";
import { documentSummaries, type DocumentSummary } from "./catalogue-documents";
import { parseSubsystemId } from "./identifiers";

export type CatalogueEntry = components["schemas"]["CatalogueEntry"];
export type Listed = Omit<CatalogueEntry, "figures">;

export const HUB_PROVIDER = { id: "hub", name: "Linkage Hub" };
const AGENCY_NAMES: Record<BuiltinAgency, string> = {
  "civil-registry": "Civil registry",
  emergency: "Emergency services",
  utilities: "Utilities",
  flights: "Drone flight reports",
};

interface ServiceListing {
  id: string;
  subsystem: string;
  service_code: string;
  title: string;
  version: string;
  methods: { method: string; path: string }[];
  updated: string;
}

/** The built-in agency a provider subsystem is, if it is one. */
export function builtinAgencyOf(subsystem: string, instance: string): BuiltinAgency | undefined {
  return BUILTIN_AGENCIES.find((agency) => builtinSubsystemId(instance, agency) === subsystem);
}

async function providerNames(db: Queryable): Promise<Map<string, string>> {
  return new Map((await listPartners(db)).map((p) => [p.subsystem, p.name]));
}

async function grantedPurposes(db: Queryable): Promise<Map<string, string[]>> {
  const rows = await db.query<{ service_id: string; purposes: string[] }>(
    `SELECT service_id, array_agg(DISTINCT p ORDER BY p) AS purposes
       FROM hub.catalogue_grant, unnest(purposes) AS p WHERE p <> '*' GROUP BY service_id`,
  );
  return new Map(rows.map((r) => [r.service_id, r.purposes]));
}

function serviceEntry(row: ServiceListing, doc: DocumentSummary, instance: string, names: Map<string, string>, granted: string[]): Listed {
  const agency = builtinAgencyOf(row.subsystem, instance);
  const name = agency ? AGENCY_NAMES[agency] : (names.get(row.subsystem) ?? doc.contactName ?? parseSubsystemId(row.subsystem).subsystemCode);
  return {
    id: row.id,
    kind: "service",
    title: row.title,
    description: doc.description,
    version: row.version,
    provider: { id: row.subsystem, name },
    operations: row.methods.map((m) => ({ method: m.method, path: m.path, summary: doc.summaries.get(`${m.method} ${m.path}`) ?? "" })),
    purposes: doc.purposes.length ? doc.purposes : granted,
    links: {
      openapi: `/r1/${row.subsystem}/getOpenAPI?serviceCode=${encodeURIComponent(row.service_code)}`,
      ...(agency ? { docs: "/docs" } : {}),
    },
  };
}

/** Every enabled service of the catalogue (the built-in agencies' rows too, when they are there). */
export async function serviceEntries(db: Queryable, instance: string): Promise<Listed[]> {
  const rows = await db.query<ServiceListing>(
    `SELECT id, subsystem, service_code, title, version, methods, updated_at::text AS updated
       FROM hub.catalogue_service WHERE disabled_at IS NULL ORDER BY id`,
  );
  const [docs, names, granted] = await Promise.all([
    documentSummaries(db, new Map(rows.map((r) => [r.id, r.updated]))),
    providerNames(db),
    grantedPurposes(db),
  ]);
  return rows.map((r) => serviceEntry(r, docs.get(r.id)!, instance, names, granted.get(r.id) ?? []));
}

interface LinkageTypeText {
  title?: string;
  description?: string;
  purposes?: string[];
  operations?: string[];
}

/** Every linkage type of the contract, with what `x-linkage-types` says of it and the operations every linkage has. */
export function linkageEntries(): Listed[] {
  const schemas = (openapi.components as { schemas: Record<string, { "x-extensible-enum"?: string[] }> }).schemas;
  const types = schemas.LinkageType?.["x-extensible-enum"] ?? [];
  const texts = (openapi["x-linkage-types"] ?? {}) as Record<string, LinkageTypeText>;
  const ops = new Map(operations().map((op) => [op.operationId, op]));
  return types.map((type) => {
    const text = texts[type] ?? {};
    const ids = [...(text.operations ?? []), "linkages.status.get", "linkages.cancel"];
    return {
      id: `linkage/${type}`,
      kind: "linkage",
      title: text.title ?? type,
      description: text.description ?? "",
      provider: HUB_PROVIDER,
      operations: ids
        .map((id) => ops.get(id))
        .filter((op) => op !== undefined)
        .map((op) => ({ method: op.method, path: op.path, summary: (op as { summary?: string }).summary ?? "" })),
      purposes: text.purposes ?? [],
      links: { openapi: "/openapi.json", docs: "/docs" },
    };
  });
}

/** The whole catalogue, without figures, by id. */
export async function catalogueEntries(db: Queryable, instance: string): Promise<Listed[]> {
  const all = [...(await serviceEntries(db, instance)), ...linkageEntries()];
  return all.sort(byId);
}
