/**
 * Who may call what over REST or NATS, deny by default. Every operation declares in the contract the
 * scope it needs (`security`, an empty list for the public ones) and whether it touches
 * personal data (`x-personal-data`, then a `Data-Purpose` header naming a legal basis granted
 * to the partner is required). The caller's subsystem, when it names one, must be its own.
 * A built-in agency's operation is also a catalogue service (catalogue/builtin-ids.ts): it
 * needs an access right of the partner's subsystem on it too, and the purpose is its right's.
 * A partner's quota is taken here too, so a refused request costs nothing downstream.
 */
import type { IncomingMessage } from "node:http";
import type { Operation } from "../contracts";
import { HubError } from "../platform/errors";
import type { AuditLog } from "../audit/log";
import { bodyHash } from "../audit/chain";
import { assertOwnClient, REALM, refusal, statedPurpose, type PartnerAccess } from "../partners/access";
import type { Partner } from "../partners/registry";
import { rightOn, type GrantRow } from "../catalogue/access-rights";
import { builtinServiceId } from "../catalogue/builtin-ids";
import { readRawBody } from "./body";
import type { Authorize } from "./exchange";
import { stateOf } from "./request-state";

/**
 * The hash binding an answer to its request (method, path and query, body): sent back as
 * `Request-Hash` and kept in the audit record, so a partner can prove which answer belongs
 * to which question. Over NATS the same text is hashed: the method and path the operation has over REST.
 */
export const requestHash = (method: string, target: string, body: Buffer) => bodyHash(Buffer.concat([Buffer.from(`${method} ${target}\n`), body]));

/** A REST request's `Request-Hash`, computed once. */
export async function requestHashOf(req: IncomingMessage): Promise<string> {
  const state = stateOf(req);
  state.requestHash ??= requestHash(req.method!, req.url!, await readRawBody(req));
  return state.requestHash;
}

export interface Caller {
  partner: Partner;
  purpose?: string;
}

/** A client subsystem's rights on a catalogue service (the LiveCatalogue's cache: no query per call). */
export type RightsOf = (client: string, serviceId: string) => Promise<GrantRow[]>;

/** Token, scope, purpose and quota for a documented operation, whatever carried the request; a known partner's refusal is audited. */
export function accessCheck(partners: PartnerAccess, audit: AuditLog, rightsOf: RightsOf, instance: string): Authorize {
  return async function authorize(request) {
    const op = request.operation.op;
    const needed = scopesNeeded(op);
    if (!needed) return undefined;
    const { partner, scopes } = await partners.identify(request.headers.authorization);
    const stated = request.headers["data-purpose"]?.trim();
    // The purpose the audit record names: the one stated, once the check comes to it.
    let audited: string | undefined;
    try {
      assertOwnClient(request.headers, partner);
      const missing = needed.filter((s) => !scopes.includes(s) || !partner.scopes.includes(s));
      if (missing.length)
        throw refusal("HUB_ERR_FORBIDDEN", `${op.operationId} needs the scope ${missing.join(" and ")}, which the token does not carry`, {
          "WWW-Authenticate": `Bearer ${REALM}, error="insufficient_scope", scope="${needed.join(" ")}"`,
        });
      const personal = op["x-personal-data"] === true;
      if (personal) audited = stated;
      // A built-in agency's operation is a catalogue service: the purposes are its grant's.
      const service = builtinServiceId(instance, op.operationId);
      const granted = service ? await builtinRight(rightsOf, partner, service, op) : partner.purposes;
      const purpose = personal ? statedPurpose(stated, service ? `${op.operationId} (${service})` : op.operationId, partner, granted) : undefined;
      const headers = await partners.withinQuota(partner);
      return { caller: { partner, purpose }, headers };
    } catch (err) {
      // The partner is known: a refusal is an exchange the audit log keeps.
      const requestHash = await request.requestHash();
      const outcome = String((err as HubError).type);
      await audit.record({ operation: op.operationId, outcome, requestId: request.requestId, partnerId: partner.id, purpose: audited, requestHash });
      throw err;
    }
  };
}

/** The purposes the partner's subsystem is granted on a built-in agency's operation; without a right, the 403. */
async function builtinRight(rightsOf: RightsOf, partner: Partner, service: string, op: Operation): Promise<string[]> {
  const right = rightOn(await rightsOf(partner.subsystem, service), op.method, op.path);
  if (right) return right.purposes;
  throw new HubError(
    "HUB_ERR_FORBIDDEN",
    `${op.operationId} is the catalogue service ${service}, on which ${partner.subsystem} (partner ${partner.id}) has no access right; ` +
      `an operator grants it with: linkage-hub access grant --client ${partner.subsystem} --service ${service} --purposes <p,...|all>`,
  );
}

/** The scopes `op` declares, or undefined for a public operation; one that declares none is closed to partners. */
function scopesNeeded(op: Operation): string[] | undefined {
  const security = op.security as { partnerToken?: string[] }[] | undefined;
  if (security && security.length === 0) return undefined;
  if (!security?.[0]?.partnerToken) throw new HubError("HUB_ERR_FORBIDDEN", `${op.operationId} declares no scope, so no partner may call it`);
  return security[0].partnerToken;
}
