/**
 * Who may call what, deny by default. Every operation declares in the contract the scope it
 * needs (`security`, an empty list for the public ones) and whether it touches personal
 * data (`x-personal-data`, then a `Data-Purpose` header naming a legal basis granted to the
 * partner is required). A partner's quota is taken here too, so a refused request costs
 * nothing downstream.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Operation } from "../contracts";
import type { Db } from "../platform/db";
import { HubError } from "../platform/errors";
import type { HubNode } from "../platform/hub-node";
import type { AuditLog } from "../audit/log";
import { findPartner, type Partner } from "../partners/registry";
import { InvalidToken, tokenVerifier } from "../partners/tokens";
import { quotaHeaders, takeQuota } from "../partners/quota";
import { bodyHash } from "../audit/chain";
import { readRawBody } from "./body";
import { stateOf } from "./request-state";
import client from "prom-client";

const unauthenticated = new client.Counter({
  name: "hub_auth_refusals_total",
  help: "Calls refused before a partner was known (no token, a bad one, a disabled partner): counted here, not written to the audit log, so nobody can flood it",
  labelNames: ["reason"] as const,
});
for (const reason of ["no_token", "invalid_token", "disabled_partner"]) unauthenticated.inc({ reason }, 0);

/**
 * The hash binding an answer to its request (method, path and query, body): sent back as
 * `Request-Hash` and kept in the audit record, so a partner can prove which answer belongs
 * to which question.
 */
export async function requestHashOf(req: IncomingMessage): Promise<string> {
  const state = stateOf(req);
  state.requestHash ??= bodyHash(Buffer.concat([Buffer.from(`${req.method} ${req.url}\n`), await readRawBody(req)]));
  return state.requestHash;
}

export interface Caller {
  partner: Partner;
  purpose?: string;
}

/** The caller of `op`, or undefined for a public operation; throws the refusal, its challenge set on `res`. */
export type Authorize = (req: IncomingMessage, res: ServerResponse, op: Operation) => Promise<Caller | undefined>;

const REALM = 'realm="linkage-hub"';

export function partnerAccess(node: HubNode, audit: AuditLog): Authorize {
  const verifier = tokenVerifier(node.db, node.config);
  const partnerOf = cachedPartners(node.db);
  return async function authorize(req, res, op) {
    const needed = scopesNeeded(op);
    if (!needed) return undefined;
    const grant = await verifiedToken(verifier, req, res);
    const partner = await partnerOf(grant.partnerId);
    if (!partner || partner.disabled) {
      unauthenticated.inc({ reason: "disabled_partner" });
      res.setHeader("WWW-Authenticate", `Bearer ${REALM}, error="invalid_token", error_description="the partner is disabled"`);
      throw new HubError("HUB_ERR_UNAUTHENTICATED", `The access token is refused: partner ${grant.partnerId} is ${partner ? "disabled" : "unknown"}`);
    }

    // From here the partner is known: a refusal is an exchange the audit log keeps.
    const refuse = async (err: HubError, purposeStated?: string): Promise<never> => {
      const requestHash = await requestHashOf(req);
      await audit.record({
        operation: op.operationId,
        outcome: String(err.type),
        requestId: stateOf(req).id,
        partnerId: partner.id,
        purpose: purposeStated,
        requestHash,
      });
      throw err;
    };
    const missing = needed.filter((s) => !grant.scopes.includes(s) || !partner.scopes.includes(s));
    if (missing.length) {
      res.setHeader("WWW-Authenticate", `Bearer ${REALM}, error="insufficient_scope", scope="${needed.join(" ")}"`);
      await refuse(new HubError("HUB_ERR_FORBIDDEN", `${op.operationId} needs the scope ${missing.join(" and ")}, which the token does not carry`));
    }
    const purpose = op["x-personal-data"] === true ? await statedPurpose(req, op, partner, refuse) : undefined;
    await admitWithinQuota(node.db, res, partner, (err) => refuse(err, purpose));
    return { partner, purpose };
  };
}

/** The scopes `op` declares, or undefined for a public operation; one that declares none is closed to partners. */
function scopesNeeded(op: Operation): string[] | undefined {
  const security = op.security as { partnerToken?: string[] }[] | undefined;
  if (security && security.length === 0) return undefined;
  if (!security?.[0]?.partnerToken) throw new HubError("HUB_ERR_FORBIDDEN", `${op.operationId} declares no scope, so no partner may call it`);
  return security[0].partnerToken;
}

async function verifiedToken(verifier: ReturnType<typeof tokenVerifier>, req: IncomingMessage, res: ServerResponse) {
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(req.headers.authorization ?? "");
  if (!match) {
    unauthenticated.inc({ reason: "no_token" });
    res.setHeader("WWW-Authenticate", `Bearer ${REALM}`);
    throw new HubError("HUB_ERR_UNAUTHENTICATED", "Send an access token from POST /v1/oauth/token as `Authorization: Bearer <token>`");
  }
  try {
    return await verifier.verify(match[1]!);
  } catch (err) {
    if (!(err instanceof InvalidToken)) throw err;
    unauthenticated.inc({ reason: "invalid_token" });
    res.setHeader("WWW-Authenticate", `Bearer ${REALM}, error="invalid_token", error_description="${err.message.replace(/"/g, "'")}"`);
    throw new HubError("HUB_ERR_UNAUTHENTICATED", `The access token is refused: ${err.message}`);
  }
}

/** Partners change rarely; a disabled one is refused within seconds on every node. */
function cachedPartners(db: Db): (id: string) => Promise<Partner | undefined> {
  const cache = new Map<string, { partner: Partner | undefined; at: number }>();
  return async (id) => {
    const hit = cache.get(id);
    if (hit && Date.now() - hit.at < 5000) return hit.partner;
    const partner = await findPartner(db, id);
    cache.set(id, { partner, at: Date.now() });
    return partner;
  };
}

/** The legal basis stated in `Data-Purpose`, which must be one granted to the partner. */
async function statedPurpose(
  req: IncomingMessage,
  op: Operation,
  partner: Partner,
  refuse: (err: HubError, purpose?: string) => Promise<never>,
): Promise<string> {
  const stated = req.headers["data-purpose"];
  const purpose = typeof stated === "string" ? stated.trim() : undefined;
  const granted = partner.purposes.join(", ") || "none";
  if (!purpose)
    return refuse(
      new HubError(
        "HUB_ERR_FORBIDDEN",
        `${op.operationId} touches personal data: state its legal basis in a Data-Purpose header (granted to ${partner.id}: ${granted})`,
      ),
    );
  if (!(partner.purposes as string[]).includes(purpose))
    return refuse(new HubError("HUB_ERR_FORBIDDEN", `Data-Purpose ${purpose} is not a legal basis granted to ${partner.id} (granted: ${granted})`), purpose);
  return purpose;
}

/** Takes one request from the partner's quota; its state goes out in the RateLimit headers either way. */
async function admitWithinQuota(db: Db, res: ServerResponse, partner: Partner, refuse: (err: HubError) => Promise<never>): Promise<void> {
  const quota = await takeQuota(db, partner.id, partner.quota, partner.quotaWindowS);
  for (const [name, value] of Object.entries(quotaHeaders(quota))) res.setHeader(name, value);
  if (quota.admitted) return;
  res.setHeader("Retry-After", String(quota.resetS));
  await refuse(new HubError("HUB_ERR_QUOTA_EXCEEDED", `${partner.id} has used its ${quota.limit} requests per ${quota.windowS} s; retry in ${quota.resetS} s`));
}
