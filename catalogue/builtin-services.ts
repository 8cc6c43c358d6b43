/**
 * The built-in agencies' rows in the catalogue, kept to the contract: every gateway writes each
 * operation's document at start (an upsert per row, so two gateways starting at once write the
 * same rows, and one that finds them current writes nothing), and drops built-in services the
 * contract no longer has. The rows themselves, and existing partners' grants on them, were made
 * by migration 007; operators cannot register, change or remove them (registry.ts).
 */
import type { Queryable } from "../platform/db";
import { HubError } from "../platform/errors";
import { builtinOperations } from "./builtin-documents";
import { BUILTIN_AGENCIES, isBuiltinSubsystem } from "./builtin-ids";
import { parseServiceId } from "./identifiers";

/** Where the rows say the built-in services are: the hub itself, at its own REST paths. */
const HUB_BASE = (agency: string) => `hub:${agency}`;

export async function syncBuiltinServices(db: Queryable, instance: string): Promise<void> {
  const operations = builtinOperations(instance);
  for (const op of operations) {
    const { subsystemCode, memberCode, serviceCode } = parseServiceId(op.serviceId);
    await db.query(
      `INSERT INTO hub.catalogue_service (id, subsystem, service_code, base_url, timeout_ms, document, methods, title, version, builtin, contract_scope)
       VALUES ($1, $2, $3, $4, 10000, $5, $6, $7, $8, true, $9)
       ON CONFLICT (id) DO UPDATE SET document = EXCLUDED.document, methods = EXCLUDED.methods, title = EXCLUDED.title, version = EXCLUDED.version,
         builtin = true, contract_scope = EXCLUDED.contract_scope, base_url = EXCLUDED.base_url, updated_at = now()
       WHERE catalogue_service.document IS DISTINCT FROM EXCLUDED.document OR catalogue_service.contract_scope IS DISTINCT FROM EXCLUDED.contract_scope
         OR NOT catalogue_service.builtin`,
      [
        op.serviceId,
        `${instance}/GOV/${memberCode}/${subsystemCode}`,
        serviceCode,
        HUB_BASE(memberCode),
        JSON.stringify(op.document),
        JSON.stringify([{ method: op.method, path: op.path, personalData: op.personalData }]),
        (op.document.info as { title: string }).title,
        (op.document.info as { version: string }).version,
        op.scope,
      ],
    );
  }
  await db.query("DELETE FROM hub.catalogue_service WHERE builtin AND subsystem = ANY($1::text[]) AND NOT (id = ANY($2::text[]))", [
    BUILTIN_AGENCIES.map((a) => `${instance}/GOV/${a}/hub`),
    operations.map((o) => o.serviceId),
  ]);
}

/** Refuses to change a built-in agency's services by hand: they come from the contract. */
export function assertNotBuiltin(id: string, change: string): void {
  if (!isBuiltinSubsystem(parseServiceId(id))) return;
  throw new HubError(
    "HUB_ERR_FORBIDDEN",
    `${id} is a built-in agency's operation: its service and document come from the hub's contract, so it cannot be ${change}; grant or revoke access to it with linkage-hub access`,
  );
}
