/**
 * Workflow payloads encrypted before they reach Temporal (AES-256-GCM, the key id in the
 * payload's metadata), so inputs, results, signals, queries, memos and failures are ciphertext
 * in Temporal's database and UI. A payload without the codec's encoding (recorded histories,
 * linkages started before the codec) passes through, so old histories still replay.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { DataConverter, Payload, PayloadCodec } from "@temporalio/common";
import { temporal as proto } from "@temporalio/proto";
import type { Config } from "./config";
import { payloadKeys, type PayloadKeyRing } from "./payload-keys";

export const ENCRYPTED = "binary/encrypted";
export const KEY_ID = "encryption-key-id";

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString("utf8") : undefined);

export class UnknownPayloadKeyError extends Error {
  constructor(readonly keyId: string) {
    super(`payload encrypted under key ${JSON.stringify(keyId)}, which this node does not hold`);
  }
}

export const isEncrypted = (p: Payload) => text(p.metadata?.encoding) === ENCRYPTED;
export const keyIdOf = (p: Payload) => text(p.metadata?.[KEY_ID]) ?? "";

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keys: { ring(): PayloadKeyRing; refresh(): PayloadKeyRing }) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { current, keys } = this.keys.ring();
    const key = keys.get(current)!;
    return payloads.map((payload) => {
      const iv = randomBytes(12);
      // The key id is authenticated too: a payload cannot be passed off as another key's.
      const cipher = createCipheriv("aes-256-gcm", key, iv).setAAD(utf8(current));
      const plain = proto.api.common.v1.Payload.encode(payload).finish();
      return {
        metadata: { encoding: utf8(ENCRYPTED), [KEY_ID]: utf8(current) },
        data: Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (!isEncrypted(payload)) return payload;
      const id = keyIdOf(payload);
      const key = this.keys.ring().keys.get(id) ?? this.keys.refresh().keys.get(id);
      if (!key) throw new UnknownPayloadKeyError(id);
      const data = Buffer.from(payload.data ?? []);
      const decipher = createDecipheriv("aes-256-gcm", key, data.subarray(0, 12)).setAAD(utf8(id));
      decipher.setAuthTag(data.subarray(data.length - 16));
      return proto.api.common.v1.Payload.decode(Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]));
    });
  }
}

const codecs = new Map<string, EncryptionCodec>();

/** One codec per key source in a process, shared by its clients and worker. */
export function payloadCodec(config: Pick<Config, "payloadKeys" | "payloadKeysFile" | "dataDir">): EncryptionCodec {
  const source = config.payloadKeys ?? config.payloadKeysFile ?? config.dataDir;
  if (!codecs.has(source)) codecs.set(source, new EncryptionCodec(payloadKeys(config)));
  return codecs.get(source)!;
}

/** What every Temporal client and worker of the hub converts with. */
export function hubDataConverter(config: Pick<Config, "payloadKeys" | "payloadKeysFile" | "dataDir">): DataConverter {
  return { payloadCodecs: [payloadCodec(config)], failureConverterPath: require.resolve("./failure-converter") };
}
