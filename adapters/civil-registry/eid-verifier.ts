/**
 * e-ID verification as any agency would do it: the credential's signature against the
 * registry's published JWKS (fetched with jose's remote key set, which fetches again when a
 * credential names a key it has not seen, so a key rotation is picked up), its type, algorithm
 * and expiry. Whether the e-ID is still ACTIVE is then the registry's answer (service.ts).
 */
import { createRemoteJWKSet, errors, jwtVerify } from "jose";
import type { components } from "../../contracts/generated/types";
import { HubError } from "../../platform/errors";

type Reason = NonNullable<components["schemas"]["EidVerificationResult"]["reason"]>;

/** Same values as the sandbox's credentials (the registry's published profile of an e-ID). */
export const EID_TYP = "eid+jwt";
export const EID_ALG = "EdDSA";
/** After a fetch, an unknown key id waits this long before the JWKS is fetched again (rotation shows within it). */
export const JWKS_COOLDOWN_MS = 1000;
/** A known key set is fetched again after this long anyway (retired keys may be withdrawn). */
export const JWKS_MAX_AGE_MS = 10 * 60_000;

export type SignatureCheck = { ok: true; eidNo: string; citizenNo: string } | { ok: false; reason: Reason };

/** What a failed jwtVerify means for the credential; errors of the JWKS fetch are the registry's, thrown. */
function failure(agency: string, err: unknown): Reason {
  if (err instanceof errors.JWKSNoMatchingKey) return "UNKNOWN_KEY";
  if (err instanceof errors.JWSSignatureVerificationFailed) return "BAD_SIGNATURE";
  if (err instanceof errors.JWTExpired) return "EXPIRED";
  if (err instanceof errors.JWKSTimeout) throw new HubError("HUB_ERR_AGENCY_TIMEOUT", `${agency} did not serve its JWKS in time`, { agency });
  if (err instanceof errors.JWKSInvalid)
    throw new HubError("HUB_ERR_AGENCY_BAD_ANSWER", `${agency} answered outside its contract: its JWKS is not a JWK set`, { agency });
  if (err instanceof errors.JOSEError && err.code === "ERR_JOSE_GENERIC") {
    // Raised by the JWKS fetch: a non-200 answer or one that is not JSON.
    if (/not JSON|as JSON/i.test(err.message))
      throw new HubError("HUB_ERR_AGENCY_BAD_ANSWER", `${agency} answered outside its contract: its JWKS is not JSON`, { agency });
    throw new HubError("HUB_ERR_AGENCY_UNAVAILABLE", `${agency} did not serve its JWKS`, { agency });
  }
  if (err instanceof errors.JOSEError) return "MALFORMED"; // not a JWS, wrong typ or alg, bad claims
  throw new HubError("HUB_ERR_AGENCY_UNAVAILABLE", `${agency} is unreachable (JWKS)`, { agency });
}

export function eidSignatureChecker(agency: string, registryUrl: string, timeoutMs: number, token?: string) {
  const jwks = createRemoteJWKSet(new URL(`${registryUrl}/.well-known/jwks.json`), {
    timeoutDuration: timeoutMs,
    cooldownDuration: JWKS_COOLDOWN_MS,
    cacheMaxAge: JWKS_MAX_AGE_MS,
    headers: token ? { Authorization: `Bearer ${token}` } : undefined,
  });
  return async (credential: string): Promise<SignatureCheck> => {
    try {
      const { payload } = await jwtVerify(credential, jwks, { typ: EID_TYP, algorithms: [EID_ALG], requiredClaims: ["exp", "eid_no", "citizen_no"] });
      if (typeof payload.eid_no !== "string" || typeof payload.citizen_no !== "string" || payload.eid_no.length > 64) return { ok: false, reason: "MALFORMED" };
      return { ok: true, eidNo: payload.eid_no, citizenNo: payload.citizen_no };
    } catch (err) {
      return { ok: false, reason: failure(agency, err) };
    }
  };
}
