/**
 * The registry's signing keys and the e-ID credential: a compact JWS (EdDSA over Ed25519)
 * that any agency verifies with the published JWKS (`/.well-known/jwks.json`).
 */
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from "jose";
import type { Db, Queryable } from "../../../platform/db";

export const SCHEMA = "sandbox_civil_registry";
export const CREDENTIAL_ALG = "EdDSA";
/** Explicit type (RFC 8725 §3.11) so an e-ID cannot be mistaken for another kind of JWT. */
export const CREDENTIAL_TYP = "eid+jwt";

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

async function insertNewKey(tx: Queryable): Promise<JWK> {
  const { publicKey, privateKey } = await generateKeyPair(CREDENTIAL_ALG, { crv: "Ed25519", extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = { ...(await exportJWK(privateKey)), kid };
  await tx.query(`INSERT INTO ${SCHEMA}.signing_key (kid, private_jwk, public_jwk, active) VALUES ($1, $2, $3, true)`, [
    kid,
    JSON.stringify(privateJwk),
    JSON.stringify({ ...publicJwk, kid, alg: CREDENTIAL_ALG, use: "sig" }),
  ]);
  return privateJwk;
}

const imported = new Map<string, SigningKey>();

async function toSigningKey(jwk: JWK): Promise<SigningKey> {
  if (!jwk.kid) throw new Error("stored signing key has no kid");
  const cached = imported.get(jwk.kid);
  if (cached) return cached;
  const privateKey = await importJWK(jwk, CREDENTIAL_ALG);
  if (privateKey instanceof Uint8Array) throw new Error("stored signing key is not an Ed25519 private JWK");
  const key = { kid: jwk.kid, privateKey };
  imported.set(jwk.kid, key);
  return key;
}

/**
 * The active signing key, created on first start. An advisory lock keeps two sandboxes
 * starting on one database from each creating a key.
 */
export async function ensureSigningKey(db: Db): Promise<SigningKey> {
  const jwk = await db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${SCHEMA}:signing_key`]);
    const [row] = await tx.query<{ private_jwk: JWK }>(`SELECT private_jwk FROM ${SCHEMA}.signing_key WHERE active`);
    return row ? row.private_jwk : insertNewKey(tx);
  });
  return toSigningKey(jwk);
}

/** The key that signs now (read in the caller's transaction, so a rotation is seen at once). */
export async function activeSigningKey(q: Queryable): Promise<SigningKey> {
  const [row] = await q.query<{ private_jwk: JWK }>(`SELECT private_jwk FROM ${SCHEMA}.signing_key WHERE active`);
  if (!row) throw new Error("the registry has no active signing key");
  return toSigningKey(row.private_jwk);
}

/** A new key signs from now on; the retired one stays published, so its credentials still verify. */
export async function rotateSigningKey(db: Db): Promise<{ kid: string; retired: string[] }> {
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${SCHEMA}:signing_key`]);
    const retired = await tx.query<{ kid: string }>(`UPDATE ${SCHEMA}.signing_key SET active = false WHERE active RETURNING kid`);
    const jwk = await insertNewKey(tx);
    return { kid: jwk.kid!, retired: retired.map((r) => r.kid) };
  });
}

/** Every public key, the active one first: retired keys stay so older credentials still verify. */
export async function publicJwks(db: Queryable): Promise<{ keys: JWK[] }> {
  const rows = await db.query<{ public_jwk: JWK }>(`SELECT public_jwk FROM ${SCHEMA}.signing_key ORDER BY active DESC, created_at DESC`);
  return { keys: rows.map((r) => r.public_jwk) };
}

export function signEid(key: SigningKey, claims: EidClaims): Promise<string> {
  return new SignJWT({ ...claims }).setProtectedHeader({ alg: CREDENTIAL_ALG, kid: key.kid, typ: CREDENTIAL_TYP }).sign(key.privateKey);
}

/**
 * The claims of a credential this registry signed with one of its keys (active or retired),
 * of the e-ID type, not expired; anything else throws jose's error.
 */
export async function verifyOwnCredential(q: Queryable, credential: string): Promise<EidClaims> {
  const { payload } = await jwtVerify(credential, createLocalJWKSet(await publicJwks(q)), { typ: CREDENTIAL_TYP, algorithms: [CREDENTIAL_ALG] });
  if (typeof payload.eid_no !== "string" || typeof payload.citizen_no !== "string") throw new Error("the credential lacks eid_no or citizen_no");
  return payload as unknown as EidClaims;
}
