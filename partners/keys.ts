/**
 * The keys that sign access tokens (Ed25519), kept in the database so every gateway signs
 * and verifies with the same ones. A key is published in the JWKS from its creation, signs
 * once activated, and stays published after it is retired until its last token expires: at
 * any time the JWKS holds the signing key and the next one, so rotation needs no downtime.
 */
import { randomBytes } from "node:crypto";
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from "jose";
import type { Db, Queryable } from "../platform/db";

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
}

interface KeyRow {
  kid: string;
  private_jwk: JWK;
  public_jwk: JWK;
  activated_at: Date | string | null;
  retired_at: Date | string | null;
}

async function createKey(tx: Queryable, active: boolean): Promise<void> {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const kid = `${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString("hex")}`;
  const pub = { ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" };
  await tx.query(`INSERT INTO hub.signing_key (kid, private_jwk, public_jwk, activated_at) VALUES ($1, $2, $3, ${active ? "now()" : "NULL"})`, [
    kid,
    JSON.stringify({ ...(await exportJWK(privateKey)), kid }),
    JSON.stringify(pub),
  ]);
}

/** Makes sure there is a signing key and a next one (once, whichever node asks first). */
export async function ensureKeys(db: Db): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('linkage-hub:signing-keys'))");
    const rows = await tx.query<KeyRow>("SELECT * FROM hub.signing_key WHERE retired_at IS NULL");
    if (!rows.some((r) => r.activated_at)) await createKey(tx, true);
    if (!rows.some((r) => !r.activated_at)) await createKey(tx, false);
  });
}

/** Retires the signing key, activates the next (already published) one, and publishes a new next. */
export async function rotateKeys(db: Db): Promise<{ retired: string[]; active: string }> {
  await ensureKeys(db);
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('linkage-hub:signing-keys'))");
    const retired = await tx.query<{ kid: string }>(
      "UPDATE hub.signing_key SET retired_at = now() WHERE activated_at IS NOT NULL AND retired_at IS NULL RETURNING kid",
    );
    const [next] = await tx.query<{ kid: string }>("UPDATE hub.signing_key SET activated_at = now() WHERE activated_at IS NULL RETURNING kid");
    await createKey(tx, false);
    return { retired: retired.map((r) => r.kid), active: next!.kid };
  });
}

/** The key tokens are signed with now. */
export async function signingKey(db: Queryable): Promise<SigningKey> {
  const [row] = await db.query<KeyRow>(
    "SELECT * FROM hub.signing_key WHERE activated_at IS NOT NULL AND retired_at IS NULL ORDER BY activated_at DESC LIMIT 1",
  );
  if (!row) throw new Error("no signing key: ensureKeys() has not run");
  return { kid: row.kid, privateKey: (await importJWK(row.private_jwk, "EdDSA")) as CryptoKey };
}

/** The public keys to publish: every key not retired, and those retired less than a token lifetime ago. */
export async function publishedKeys(db: Queryable, tokenTtlS: number): Promise<JWK[]> {
  const rows = await db.query<KeyRow>(
    "SELECT * FROM hub.signing_key WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1::int) ORDER BY created_at DESC",
    [tokenTtlS + 60],
  );
  return rows.map((r) => r.public_jwk);
}
