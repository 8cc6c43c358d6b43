/**
 * Bytes sealed at rest with the payload keys (AES-256-GCM): workflow payloads and kept answers.
 * Sealed under the ring's current key, opened under whichever key sealed them; the key id is
 * authenticated too, so a sealed value cannot be passed off as another key's.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { PayloadKeySource } from "./payload-keys";

const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Sealed {
  keyId: string;
  /** IV, ciphertext, tag. */
  data: Buffer;
}

/** Sealed under a key the ring lacks: a copy of the key file is behind, or keys were lost. */
export class UnknownPayloadKeyError extends Error {
  constructor(readonly keyId: string) {
    super(
      `Sealed under payload key ${JSON.stringify(keyId)}, which this node's payload keys lack: ` +
        `give every node the same key file (HUB_PAYLOAD_KEYS_FILE) or HUB_PAYLOAD_KEYS, with every key it ever used`,
    );
    this.name = "UnknownPayloadKeyError";
  }
}

/** Ciphertext, key id or tag that does not authenticate: altered, or not sealed by this hub. */
export class PayloadIntegrityError extends Error {
  constructor(readonly keyId: string) {
    super(`Sealed data under payload key ${JSON.stringify(keyId)} does not authenticate: it was altered, or not sealed with that key`);
    this.name = "PayloadIntegrityError";
  }
}

export function seal(keys: PayloadKeySource, plain: Uint8Array): Sealed {
  const { current, keys: ring } = keys.ring();
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", ring.get(current)!, iv).setAAD(Buffer.from(current));
  return { keyId: current, data: Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]) };
}

export function unseal(keys: PayloadKeySource, { keyId, data }: Sealed): Buffer {
  const key = keys.ring().keys.get(keyId) ?? keys.refresh().keys.get(keyId);
  if (!key) throw new UnknownPayloadKeyError(keyId);
  if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadIntegrityError(keyId);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, data.subarray(0, IV_BYTES)).setAAD(Buffer.from(keyId));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    return Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new PayloadIntegrityError(keyId);
  }
}
