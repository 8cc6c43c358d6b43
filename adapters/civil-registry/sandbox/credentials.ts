/**
 * The registry's signing keys and the e-ID credential: a compact JWS (EdDSA over Ed25519)
 * that any agency verifies with the published JWKS (`/.well-known/jwks.json`). The keys are
 * kept in the registry's schema (store.ts); this file makes, signs and verifies.
 */
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from "jose";

const CREDENTIAL_ALG = "EdDSA";
/** Explicit type (RFC 8725 §3.11) so an e-ID cannot be mistaken for another kind of JWT. */
const CREDENTIAL_TYP = "eid+jwt";

export interface SigningKey {
  kid: string;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
}

/** Claims of an e-ID credential, as the agency issues them. */
export interface EidClaims {
  iss: string;
  sub: string;
  eid_no: string;
  citizen_no: string;
  full_name: string;
  birth_date: string;
  iat: number;
  exp: number;
}

/** A fresh key: the private JWK to keep, the public one to publish, both named by the key's thumbprint. */
export async function newKeyPair(): Promise<{ kid: string; privateJwk: JWK; publicJwk: JWK }> {
  const { publicKey, privateKey } = await generateKeyPair(CREDENTIAL_ALG, { crv: "Ed25519", extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, privateJwk: { ...(await exportJWK(privateKey)), kid }, publicJwk: { ...publicJwk, kid, alg: CREDENTIAL_ALG, use: "sig" } };
}

const imported = new Map<string, SigningKey>();

export async function toSigningKey(jwk: JWK): Promise<SigningKey> {
  if (!jwk.kid) throw new Error("stored signing key has no kid");
  const cached = imported.get(jwk.kid);
  if (cached) return cached;
  const privateKey = await importJWK(jwk, CREDENTIAL_ALG);
  if (privateKey instanceof Uint8Array) throw new Error("stored signing key is not an Ed25519 private JWK");
  const key = { kid: jwk.kid, privateKey };
  imported.set(jwk.kid, key);
  return key;
}

export function signEid(key: SigningKey, claims: EidClaims): Promise<string> {
  return new SignJWT({ ...claims }).setProtectedHeader({ alg: CREDENTIAL_ALG, kid: key.kid, typ: CREDENTIAL_TYP }).sign(key.privateKey);
}

/**
 * The claims of a credential signed with one of `jwks`' keys, of the e-ID type, not expired;
 * anything else throws jose's error.
 */
export async function verifyCredential(jwks: { keys: JWK[] }, credential: string): Promise<EidClaims> {
  const { payload } = await jwtVerify(credential, createLocalJWKSet(jwks), { typ: CREDENTIAL_TYP, algorithms: [CREDENTIAL_ALG] });
  if (typeof payload.eid_no !== "string" || typeof payload.citizen_no !== "string") throw new Error("the credential lacks eid_no or citizen_no");
  return payload as unknown as EidClaims;
}
