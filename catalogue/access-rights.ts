/**
 * Access rights, as X-Road keeps them: a client subsystem may call some operations of a
 * service (`*`: every one), stating one of some purposes (`*`: any). Granting names methods
 * the service's document has; a right on a method a later document drops is dropped with it.
 */
import type { components } from "../contracts/generated/types";
import type { Queryable } from "../platform/db";
import { HubError } from "../platform/errors";
import { getService } from "./registry";

type Schemas = components["schemas"];
export type AccessGrant = Schemas["AccessGrant"];
type Params = Schemas["AccessGrantParams"] | Schemas["AccessRevokeParams"];

export interface GrantRow {
  client: string;
  service_id: string;
  method: string;
  path: string;
  purposes: string[];
  created_at: Date | string;
}

const toGrant = (r: GrantRow): AccessGrant => ({
  client: r.client,
  service: r.service_id,
  method: r.method,
  path: r.path,
  purposes: r.purposes.map((p) => (p === "*" ? "all" : p)),
  createdAt: new Date(r.created_at).toISOString(),
});

/** `METHOD /path` entries as (method, path), each one the service's document has; none named: every method (`*`). */
async function methodsNamed(db: Queryable, p: Params): Promise<{ method: string; path: string }[]> {
  const service = await getService(db, p.service);
  if (!p.methods) return [{ method: "*", path: "*" }];
  const has = new Set(service.methods.map((m) => `${m.method} ${m.path}`));
  const unknown = p.methods.filter((m) => !has.has(m));
  if (unknown.length)
    throw new HubError("HUB_ERR_REQUEST_UNPROCESSABLE", `${p.service} has no ${unknown.join(", ")}; its methods: ${[...has].join(", ") || "none"}`, {
      errors: unknown.map((m) => ({ in: "body", pointer: `/methods/${p.methods!.indexOf(m)}`, detail: "is not a method of the service's document" })),
    });
  return p.methods.map((m) => ({ method: m.slice(0, m.indexOf(" ")), path: m.slice(m.indexOf(" ") + 1) }));
}

/** Grants (or, granted again, replaces the purposes of) the rights named; answers the client's rights on the service. */
export async function grantAccess(db: Queryable, p: Schemas["AccessGrantParams"]): Promise<AccessGrant[]> {
  const purposes = p.purposes.includes("all") ? ["*"] : p.purposes;
  for (const { method, path } of await methodsNamed(db, p))
    await db.query(
      `INSERT INTO hub.catalogue_grant (client, service_id, method, path, purposes) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (client, service_id, method, path) DO UPDATE SET purposes = $5`,
      [p.client, p.service, method, path, purposes],
    );
  return listGrants(db, { client: p.client, service: p.service });
}

/** Takes back the rights named (none named: all of the client's on the service); answers those that remain. */
export async function revokeAccess(db: Queryable, p: Schemas["AccessRevokeParams"]): Promise<AccessGrant[]> {
  if (p.methods) {
    for (const { method, path } of await methodsNamed(db, p))
      await db.query("DELETE FROM hub.catalogue_grant WHERE client = $1 AND service_id = $2 AND method = $3 AND path = $4", [
        p.client,
        p.service,
        method,
        path,
      ]);
  } else {
    await getService(db, p.service);
    await db.query("DELETE FROM hub.catalogue_grant WHERE client = $1 AND service_id = $2", [p.client, p.service]);
  }
  return listGrants(db, { client: p.client, service: p.service });
}

export async function listGrants(db: Queryable, q: Schemas["AccessGrantQuery"]): Promise<AccessGrant[]> {
  return (await grantRows(db, q)).map(toGrant);
}

export function grantRows(db: Queryable, q: { client?: string; service?: string }): Promise<GrantRow[]> {
  return db.query<GrantRow>(
    "SELECT * FROM hub.catalogue_grant WHERE ($1::text IS NULL OR client = $1) AND ($2::text IS NULL OR service_id = $2) ORDER BY client, service_id, method, path",
    [q.client ?? null, q.service ?? null],
  );
}

/** Whether `rows` let the client call `method path` (the document's template), and for which purposes. */
export function rightOn(rows: GrantRow[], method: string, path: string): { purposes: string[] } | undefined {
  const matching = rows.filter((r) => (r.method === "*" && r.path === "*") || (r.method === method && r.path === path));
  if (!matching.length) return undefined;
  return { purposes: [...new Set(matching.flatMap((r) => r.purposes))] };
}
