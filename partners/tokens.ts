/**
 * Access tokens: JWTs in the RFC 9068 profile (`typ` `at+jwt`), signed with EdDSA, naming
 * the partner (`sub`, `client_id`), the audience and the scopes granted. Verification takes
 * keys from the database, refreshed when a token names a key it has not seen.
 */
import { randomUUID } from "node:crypto";
import { SignJWT, errors as joseErrors, importJWK, jwtVerify, type CryptoKey, type JWK, type JWTHeaderParameters } from "jose";
import type { Db } from "../platform/db";
import type { Config } from "../platform/config";
import { publishedKeys, signingKey } from "./keys";

export interface Grant {
  partnerId: string;
  scopes: string[];
}

export async function issueToken(
  db: Db,
  config: Config,
  grant: Grant,
): Promise<{ access_token: string; token_type: "Bearer"; expires_in: number; scope: string }> {
  const key = await signingKey(db);
  const scope = grant.scopes.join(" ");
  const token = await new SignJWT({ scope, client_id: grant.partnerId })
    .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "at+jwt" })
    .setIssuer(config.tokenIssuer)
    .setAudience(config.tokenAudience)
    .setSubject(grant.partnerId)
    .setIssuedAt()
    .setExpirationTime(`${config.tokenTtlS}s`)
    .setJti(randomUUID())
    .sign(key.privateKey);
  return { access_token: token, token_type: "Bearer", expires_in: config.tokenTtlS, scope };
}

/** Why a token was refused, in words for the partner. */
export class InvalidToken extends Error {}

export function tokenVerifier(db: Db, config: Config) {
  let keys = new Map<string, CryptoKey>();
  let loadedAt = 0;
  async function load(): Promise<void> {
    const jwks: JWK[] = await publishedKeys(db, config.tokenTtlS);
    keys = new Map(await Promise.all(jwks.map(async (k) => [k.kid!, (await importJWK(k, "EdDSA")) as CryptoKey] as const)));
    loadedAt = Date.now();
  }
  async function keyFor(header: JWTHeaderParameters): Promise<CryptoKey> {
    if (!header.kid) throw new InvalidToken("the token names no key (kid)");
    // A key not seen yet is looked up again, at most once a second.
    if (!keys.has(header.kid) && Date.now() - loadedAt > 1000) await load();
    const key = keys.get(header.kid);
    if (!key) throw new InvalidToken("the token is signed with a key not in /.well-known/jwks.json");
    return key;
  }
  const known = new VerifiedTokens();
  return {
    async verify(token: string): Promise<Grant> {
      if (Date.now() - loadedAt > 60_000) await load();
      const hit = known.get(token, keys);
      if (hit) return hit;
      try {
        const { payload, protectedHeader } = await jwtVerify(token, keyFor, {
          issuer: config.tokenIssuer,
          audience: config.tokenAudience,
          algorithms: ["EdDSA"],
          typ: "at+jwt",
          requiredClaims: ["exp", "sub"],
        });
        const grant = { partnerId: String(payload.sub), scopes: typeof payload.scope === "string" ? payload.scope.split(" ").filter(Boolean) : [] };
        Object.freeze(grant.scopes);
        known.add(token, grant, protectedHeader.kid!, payload.exp!);
        return grant;
      } catch (err) {
        if (err instanceof InvalidToken) throw err;
        if (err instanceof joseErrors.JWTExpired) throw new InvalidToken("the token has expired");
        if (err instanceof joseErrors.JWSSignatureVerificationFailed) throw new InvalidToken("the token's signature does not verify");
        if (err instanceof joseErrors.JWTClaimValidationFailed) {
          if (err.claim === "aud") throw new InvalidToken(`the token is for another audience, not ${config.tokenAudience}`);
          if (err.claim === "iss") throw new InvalidToken(`the token is from another issuer, not ${config.tokenIssuer}`);
          throw new InvalidToken(`the token's ${err.claim} claim is not acceptable: ${err.reason}`);
        }
        throw new InvalidToken(`the token is not a valid access token (${(err as Error).message})`);
      }
    },
  };
}

/**
 * Tokens this process has verified, until they expire. A partner sends the same token with
 * every call for its whole lifetime, and checking its Ed25519 signature again each time was
 * the gateway's largest CPU cost per call. Only a token that verified is kept, under its whole
 * text; it stays good while its signing key is still published (a withdrawn key withdraws its
 * tokens at the next reload of the keys) and it has not expired.
 */
class VerifiedTokens {
  private static readonly MAX = 10_000;
  private readonly tokens = new Map<string, { grant: Grant; kid: string; exp: number }>();

  get(token: string, keys: ReadonlyMap<string, unknown>): Grant | undefined {
    const hit = this.tokens.get(token);
    if (!hit) return undefined;
    if (Date.now() / 1000 < hit.exp && keys.has(hit.kid)) return hit.grant;
    this.tokens.delete(token);
    return undefined;
  }

  add(token: string, grant: Grant, kid: string, exp: number): void {
    // Bounded: when full, start again (tokens are re-verified once, then kept anew).
    if (this.tokens.size >= VerifiedTokens.MAX) this.tokens.clear();
    this.tokens.set(token, { grant, kid, exp });
  }
}
