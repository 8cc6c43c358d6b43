/**
 * Bytes sealed at rest with the payload keys (AES-256-GCM): workflow payloads and kept answers.
 * Sealed under the ring's current key, opened under whichever key sealed them; the key id is
 * authenticated too, so a sealed value cannot be passed off as another key's.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { PayloadKeySource } from "./payload-keys";

export interface Sealed {
  keyId: string;
  /** IV (12 bytes), ciphertext, tag (16 bytes). */
  data: Buffer;
}

export class UnknownPayloadKeyError extends Error {
  constructor(readonly keyId: string) {
    super(`sealed under key ${JSON.stringify(keyId)}, which this node does not hold`);
  }
}

export function seal(keys: PayloadKeySource, plain: Uint8Array): Sealed {
  const { current, keys: ring } = keys.ring();
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", ring.get(current)!, iv).setAAD(Buffer.from(current));
  return { keyId: current, data: Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]) };
}

export function unseal(keys: PayloadKeySource, { keyId, data }: Sealed): Buffer {
  const key = keys.ring().keys.get(keyId) ?? keys.refresh().keys.get(keyId);
  if (!key) throw new UnknownPayloadKeyError(keyId);
  const decipher = createDecipheriv("aes-256-gcm", key, data.subarray(0, 12)).setAAD(Buffer.from(keyId));
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
}
