/**
 * The audit keys, kept outside the database: a key for the keyed hashes of subjects (so an
 * id number cannot be found from its hash by trying them all) and an Ed25519 key signing
 * checkpoints (so whoever can write the database cannot recompute the chain). From
 * `HUB_AUDIT_KEY` (the JSON itself) or the file `HUB_AUDIT_KEY_FILE`, created on first use.
 */
import fs from "node:fs";
import { createOnce } from "../platform/key-file";
import { createHash, createPrivateKey, createPublicKey, createSecretKey, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";

export interface AuditKeys {
  /** A KeyObject, not bytes: an HMAC under bytes makes a key object of them each time, 5 times its cost. */
  subjectKey: KeyObject;
  signingKey: KeyObject;
  publicKey: KeyObject;
  /** Names the signing key in checkpoints: a hash of its public key. */
  keyId: string;
}

interface Stored {
  subjectKey: string;
  signingKey: string; // PKCS#8 PEM
}

export const publicKeyPem = (keys: AuditKeys) => keys.publicKey.export({ type: "spki", format: "pem" }).toString();
export const keyIdOf = (publicKey: KeyObject) =>
  createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("hex")
    .slice(0, 16);

function fromStored(s: Stored): AuditKeys {
  const signingKey = createPrivateKey(s.signingKey);
  const publicKey = createPublicKey(signingKey);
  return { subjectKey: createSecretKey(Buffer.from(s.subjectKey, "base64")), signingKey, publicKey, keyId: keyIdOf(publicKey) };
}

/** The keys from `inline` or `file`; a missing file is created, unless `create` is false (then undefined). */
export function loadAuditKeys(inline: string | undefined, file: string, create = true): AuditKeys | undefined {
  if (inline) return fromStored(JSON.parse(inline) as Stored);
  if (fs.existsSync(file)) return fromStored(JSON.parse(fs.readFileSync(file, "utf8")) as Stored);
  if (!create) return undefined;
  const { privateKey } = generateKeyPairSync("ed25519");
  const stored: Stored = { subjectKey: randomBytes(32).toString("base64"), signingKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
  return fromStored(JSON.parse(createOnce(file, JSON.stringify(stored, null, 2))) as Stored);
}
