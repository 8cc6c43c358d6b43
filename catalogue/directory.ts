/**
 * The GovStack Information Mediator Directory Services API 1.0 (X-Road's REST metaservices):
 * the client subsystems of an instance, a provider's REST services with their endpoints, those
 * the caller may call, and a service's OpenAPI document. Shapes as GovStack writes them.
 */
import YAML from "yaml";
import type { components } from "../contracts/generated/types";
import type { Queryable } from "../platform/db";
import { HubError } from "../platform/errors";
import { listPartners } from "../partners/registry";
import { grantRows } from "./access-rights";
import { parseServiceId, parseSubsystemId, subsystemIdOf } from "./identifiers";
import { listServices, type ServiceRow } from "./registry";

type Schemas = components["schemas"];
type Query = Schemas["DirectoryQuery"];

const providerOf = (q: Query) =>
  subsystemIdOf({ instance: q.instanceId, memberClass: q.memberClass, memberCode: q.memberCode, subsystemCode: q.applicationCode });

export async function listClients(db: Queryable, instance: string): Promise<Schemas["DirectoryClientList"]> {
  const named = new Map<string, string>();
  for (const row of await listServices(db)) {
    const parts = parseSubsystemId(row.subsystem);
    // A built-in agency is named by its agency ("civil-registry"), not by its subsystem code ("hub").
    named.set(row.subsystem, row.builtin ? parts.memberCode : parts.subsystemCode);
  }
  for (const p of await listPartners(db)) if (!p.disabled) named.set(p.subsystem, p.name);
  const member = [...named]
    .map(([subsystem, name]) => ({ name, parts: parseSubsystemId(subsystem) }))
    .filter(({ parts }) => parts.instance === instance)
    .sort((a, b) => subsystemIdOf(a.parts).localeCompare(subsystemIdOf(b.parts)))
    .map(({ name, parts }) => ({
      name,
      id: {
        objectType: "APPLICATION" as const,
        instanceId: parts.instance,
        memberClass: parts.memberClass,
        memberCode: parts.memberCode,
        applicationCode: parts.subsystemCode,
      },
    }));
  return { member };
}

/** The provider's enabled services (one, with `serviceId`), each with the endpoints `allowed` keeps (default: all). */
export async function listMethods(
  db: Queryable,
  q: Query,
  allowed = (_row: ServiceRow, endpoints: Endpoint[]) => endpoints,
): Promise<Schemas["DirectoryServiceList"]> {
  const provider = providerOf(q);
  const rows = await providerServices(db, provider);
  const member = rows
    .filter((r) => !r.disabled_at && (q.serviceId === undefined || r.service_code === q.serviceId))
    .map((r) => ({
      row: r,
      endpoints: allowed(
        r,
        r.methods.map((m) => ({ method: m.method, path: m.path })),
      ),
    }))
    .filter(({ endpoints }) => endpoints.length > 0)
    .map(({ row, endpoints }) => describe(row, endpoints));
  return { member };
}

type Endpoint = { method: string; path: string };

/** Only the endpoints `client` was granted. */
export async function allowedMethods(db: Queryable, q: Query, client: string): Promise<Schemas["DirectoryServiceList"]> {
  const rights = await grantRows(db, { client });
  return listMethods(db, q, (row, endpoints) => {
    const mine = rights.filter((r) => r.service_id === row.id);
    if (mine.some((r) => r.method === "*")) return endpoints;
    return endpoints.filter((e) => mine.some((r) => r.method === e.method && r.path === e.path));
  });
}

export async function getOpenAPI(db: Queryable, q: Query & { serviceCode?: string }): Promise<object> {
  const row = (await providerServices(db, providerOf(q))).find((r) => r.service_code === q.serviceCode);
  if (!row) throw new HubError("HUB_ERR_SERVICE_NOT_FOUND", `${providerOf(q)} has no service ${q.serviceCode}`);
  if (row.disabled_at) throw new HubError("HUB_ERR_SERVICE_DISABLED", `${row.id} is disabled by its provider's operators`);
  return YAML.parse(row.document) as object;
}

/** A provider's services; a subsystem that is neither a provider nor a partner is a 404. */
async function providerServices(db: Queryable, provider: string): Promise<ServiceRow[]> {
  const rows = await listServices(db, provider);
  if (rows.length || (await listPartners(db)).some((p) => p.subsystem === provider)) return rows;
  throw new HubError("HUB_ERR_SERVICE_NOT_FOUND", `No provider ${provider} in the catalogue; /listClients names the subsystems`);
}

function describe(row: ServiceRow, endpoints: Endpoint[]): Schemas["DirectoryService"] {
  const id = parseServiceId(row.id);
  return {
    objectType: "SERVICE",
    serviceType: "REST",
    instanceId: id.instance,
    memberClass: id.memberClass,
    memberCode: id.memberCode,
    applicationCode: id.subsystemCode,
    serviceCode: id.serviceCode,
    serviceVersion: row.version,
    endpointList: { member: endpoints },
  };
}
