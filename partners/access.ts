/**
 * Who is calling, whatever the transport (REST, a mediated call, NATS): the partner behind an
 * access token, the legal basis it states, and its quota. A refusal is a HubError whose
 * `data.headers` are the headers the answer carries (`WWW-Authenticate`, `Retry-After`,
 * `RateLimit`), set by whoever answers. Partners are cached, and the cache is dropped when
 * the registry announces a change (`access.changed`, see catalogue/ and partners/service.ts).
 * Quotas are admitted from leases this process holds (quota-leases.ts).
 */
import client from "prom-client";
import type { Config } from "../platform/config";
import type { Db } from "../platform/db";
import { HubError } from "../platform/errors";
import { quotaHeaders, quotaStore, type QuotaState } from "./quota";
import { QuotaLeases } from "./quota-leases";
import { findPartner, type Partner } from "./registry";
import { InvalidToken, tokenVerifier } from "./tokens";

const unauthenticated = new client.Counter({
  name: "hub_auth_refusals_total",
  help: "Calls refused before a partner was known (no token, a bad one, a disabled partner): counted here, not written to the audit log, so nobody can flood it",
  labelNames: ["reason"] as const,
});
for (const reason of ["no_token", "invalid_token", "disabled_partner"]) unauthenticated.inc({ reason }, 0);

export const REALM = 'realm="linkage-hub"';

/** A refusal with the headers its answer carries. */
export const refusal = (code: ConstructorParameters<typeof HubError>[0], detail: string, headers: Record<string, string>) =>
  new HubError(code, detail, { headers });

/** The partner behind a token and the scopes the token carries. */
export interface Identified {
  partner: Partner;
  scopes: string[];
}

export interface PartnerAccess {
  /** The enabled partner whose access token `authorization` (`Bearer <token>`) carries; throws the 401. */
  identify(authorization: string | undefined): Promise<Identified>;
  /** Forgets the cached partners (the registry changed). */
  forget(): void;
  /** Takes one request from the partner's quota: the RateLimit headers to send, or throws the 429 carrying them. */
  withinQuota(partner: Partner): Promise<Record<string, string>>;
  /** Gives back the quota leased and not spent (the process stops; before the database closes). */
  close(): Promise<void>;
}

/** Partners are cached until the registry announces a change; a minute at most, should an announcement be missed. */
const PARTNER_TTL_MS = 60_000;

export function partnerAccess(db: Db, config: Config, onError: (err: unknown) => void = () => {}): PartnerAccess {
  const verifier = tokenVerifier(db, config);
  const leases = new QuotaLeases(quotaStore(db), onError);
  // The lookup is cached as it starts, so forget() drops one still in flight too: cached once
  // it answered, a row read before a change would outlive the change's announcement.
  const cache = new Map<string, { partner: Promise<Partner | undefined>; at: number }>();
  function partnerOf(id: string): Promise<Partner | undefined> {
    const hit = cache.get(id);
    if (hit && Date.now() - hit.at < PARTNER_TTL_MS) return hit.partner;
    const partner = findPartner(db, id);
    const entry = { partner, at: Date.now() };
    cache.set(id, entry);
    partner.catch(() => cache.get(id) === entry && cache.delete(id));
    return partner;
  }
  return {
    forget: () => cache.clear(),
    withinQuota: async (partner) => quotaAnswer(partner, await leases.take(partner.id, partner.quota, partner.quotaWindowS)),
    close: () => leases.close(),
    async identify(authorization) {
      const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization ?? "");
      if (!match) {
        unauthenticated.inc({ reason: "no_token" });
        throw refusal("HUB_ERR_UNAUTHENTICATED", "Send an access token from POST /v1/oauth/token as `Authorization: Bearer <token>`", {
          "WWW-Authenticate": `Bearer ${REALM}`,
        });
      }
      const grant = await verified(verifier, match[1]!);
      const partner = await partnerOf(grant.partnerId);
      if (!partner || partner.disabled) {
        unauthenticated.inc({ reason: "disabled_partner" });
        throw refusal("HUB_ERR_UNAUTHENTICATED", `The access token is refused: partner ${grant.partnerId} is ${partner ? "disabled" : "unknown"}`, {
          "WWW-Authenticate": `Bearer ${REALM}, error="invalid_token", error_description="the partner is disabled"`,
        });
      }
      return { partner, scopes: grant.scopes };
    },
  };
}

async function verified(verifier: ReturnType<typeof tokenVerifier>, token: string) {
  try {
    return await verifier.verify(token);
  } catch (err) {
    if (!(err instanceof InvalidToken)) throw err;
    unauthenticated.inc({ reason: "invalid_token" });
    throw refusal("HUB_ERR_UNAUTHENTICATED", `The access token is refused: ${err.message}`, {
      "WWW-Authenticate": `Bearer ${REALM}, error="invalid_token", error_description="${err.message.replace(/"/g, "'")}"`,
    });
  }
}

/** The `Data-Purpose` stated, which must be one of `granted` (`*`: any); throws the 403. */
export function statedPurpose(stated: string | undefined, what: string, partner: Partner, granted: readonly string[]): string {
  const purpose = stated?.trim();
  const list = granted.includes("*") ? "any" : granted.join(", ") || "none";
  if (!purpose)
    throw new HubError(
      "HUB_ERR_FORBIDDEN",
      `${what} touches personal data: state its legal basis in a Data-Purpose header (granted to ${partner.id}: ${list})`,
    );
  if (!granted.includes("*") && !granted.includes(purpose))
    throw new HubError("HUB_ERR_FORBIDDEN", `Data-Purpose ${purpose} is not a legal basis granted to ${partner.id} (granted: ${list})`);
  return purpose;
}

/** The RateLimit headers to send, or the 429 carrying them. */
function quotaAnswer(partner: Partner, quota: QuotaState): Record<string, string> {
  const headers = quotaHeaders(quota);
  if (quota.admitted) return headers;
  throw refusal("HUB_ERR_QUOTA_EXCEEDED", `${partner.id} has used its ${quota.limit} requests per ${quota.windowS} s; retry in ${quota.resetS} s`, {
    ...headers,
    "Retry-After": String(quota.resetS),
  });
}

/** The headers a caller may name its subsystem in (GovStack's, the IM's, X-Road's). */
const CLIENT_HEADERS = ["x-govstack-client", "information-mediator-client", "x-road-client"];

/** The subsystem the request names itself as, if any: two headers that disagree are a 400. */
export function namedClient(headers: Record<string, string | string[] | undefined>): string | undefined {
  const named = [
    ...new Set(
      CLIENT_HEADERS.map((h) => headers[h])
        .filter((v): v is string => typeof v === "string")
        .map((v) => v.trim()),
    ),
  ];
  if (named.length > 1)
    throw new HubError("HUB_ERR_REQUEST_INVALID", `The client is named twice, differently (${named.join(", ")}); name it once, in X-GovStack-Client`);
  return named[0];
}

/** The subsystem a caller names must be its partner's own (naming none, it is taken to be). */
export function assertOwnClient(headers: Record<string, string | string[] | undefined>, partner: Partner): void {
  const client = namedClient(headers);
  if (client !== undefined && client !== partner.subsystem)
    throw new HubError("HUB_ERR_FORBIDDEN", `X-GovStack-Client names ${client}, which is not the subsystem of ${partner.id} (${partner.subsystem})`);
}
