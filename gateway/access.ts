/**
 * Who may call what, deny by default. Every operation declares in the contract the scope it
 * needs (`security`, an empty list for the public ones) and whether it touches personal
 * data (`x-personal-data`, then a `Data-Purpose` header naming a legal basis granted to the
 * partner is required). A partner's quota is taken here too, so a refused request costs
 * nothing downstream.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Operation } from "../contracts";
import { HubError } from "../platform/errors";
import type { HubNode } from "../platform/node";
import { findPartner, type Partner } from "../platform/partners/registry";
import { InvalidToken, tokenVerifier } from "../platform/partners/tokens";
import { quotaHeaders, takeQuota } from "../platform/partners/quota";

export interface Caller {
  partner: Partner;
  purpose?: string;
}

const REALM = 'realm="linkage-hub"';

export function partnerAccess(node: HubNode) {
  const verifier = tokenVerifier(node.db, node.config);
  // Partners change rarely; a disabled one is refused within seconds on every node.
  const cache = new Map<string, { partner: Partner | undefined; at: number }>();
  async function partnerOf(id: string): Promise<Partner | undefined> {
    const hit = cache.get(id);
    if (hit && Date.now() - hit.at < 5000) return hit.partner;
    const partner = await findPartner(node.db, id);
    cache.set(id, { partner, at: Date.now() });
    return partner;
  }

  /** The caller of `op`, or undefined for a public operation; throws the refusal, its challenge set on `res`. */
  return async function authorize(req: IncomingMessage, res: ServerResponse, op: Operation): Promise<Caller | undefined> {
    const security = op.security as { partnerToken?: string[] }[] | undefined;
    if (security && security.length === 0) return undefined;
    if (!security?.[0]?.partnerToken) throw new HubError("HUB_ERR_FORBIDDEN", `${op.operationId} declares no scope, so no partner may call it`);
    const needed = security[0].partnerToken;

    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(req.headers.authorization ?? "");
    if (!match) {
      res.setHeader("WWW-Authenticate", `Bearer ${REALM}`);
      throw new HubError("HUB_ERR_UNAUTHENTICATED", "Send an access token from POST /v1/oauth/token as `Authorization: Bearer <token>`");
    }
    let grant;
    try {
      grant = await verifier.verify(match[1]!);
    } catch (err) {
      if (!(err instanceof InvalidToken)) throw err;
      res.setHeader("WWW-Authenticate", `Bearer ${REALM}, error="invalid_token", error_description="${err.message.replace(/"/g, "'")}"`);
      throw new HubError("HUB_ERR_UNAUTHENTICATED", `The access token is refused: ${err.message}`);
    }
    const partner = await partnerOf(grant.partnerId);
    if (!partner || partner.disabled) {
      res.setHeader("WWW-Authenticate", `Bearer ${REALM}, error="invalid_token", error_description="the partner is disabled"`);
      throw new HubError("HUB_ERR_UNAUTHENTICATED", `The access token is refused: partner ${grant.partnerId} is ${partner ? "disabled" : "unknown"}`);
    }

    const missing = needed.filter((s) => !grant.scopes.includes(s) || !partner.scopes.includes(s));
    if (missing.length) {
      res.setHeader("WWW-Authenticate", `Bearer ${REALM}, error="insufficient_scope", scope="${needed.join(" ")}"`);
      throw new HubError("HUB_ERR_FORBIDDEN", `${op.operationId} needs the scope ${missing.join(" and ")}, which the token does not carry`);
    }

    let purpose: string | undefined;
    if (op["x-personal-data"] === true) {
      const stated = req.headers["data-purpose"];
      purpose = typeof stated === "string" ? stated.trim() : undefined;
      const granted = partner.purposes.join(", ") || "none";
      if (!purpose) throw new HubError("HUB_ERR_FORBIDDEN", `${op.operationId} touches personal data: state its legal basis in a Data-Purpose header (granted to ${partner.id}: ${granted})`);
      if (!(partner.purposes as string[]).includes(purpose)) throw new HubError("HUB_ERR_FORBIDDEN", `Data-Purpose ${purpose} is not a legal basis granted to ${partner.id} (granted: ${granted})`);
    }

    const quota = await takeQuota(node.db, partner.id, partner.quota, partner.quotaWindowS);
    for (const [name, value] of Object.entries(quotaHeaders(quota))) res.setHeader(name, value);
    if (!quota.admitted) {
      res.setHeader("Retry-After", String(quota.resetS));
      throw new HubError("HUB_ERR_QUOTA_EXCEEDED", `${partner.id} has used its ${quota.limit} requests per ${quota.windowS} s; retry in ${quota.resetS} s`);
    }
    return { partner, purpose };
  };
}
