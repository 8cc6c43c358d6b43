/**
 * Workflow payloads encrypted before they reach Temporal (AES-256-GCM, the key id in the
 * payload's metadata), so inputs, results, signals, queries, memos and failures are ciphertext
 * in Temporal's database and UI. A payload without the codec's encoding (recorded histories,
 * linkages started before the codec) passes through, so old histories still replay.
 */
import type { DataConverter, Payload, PayloadCodec } from "@temporalio/common";
import { temporal as proto } from "@temporalio/proto";
import { payloadKeys, type PayloadKeyConfig, type PayloadKeySource } from "./payload-keys";
import { seal, unseal } from "./sealing";

export { UnknownPayloadKeyError } from "./sealing";

export const ENCRYPTED = "binary/encrypted";
export const KEY_ID = "encryption-key-id";

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString("utf8") : undefined);

export const isEncrypted = (p: Payload) => text(p.metadata?.encoding) === ENCRYPTED;
export const keyIdOf = (p: Payload) => text(p.metadata?.[KEY_ID]) ?? "";

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keys: PayloadKeySource) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const { keyId, data } = seal(this.keys, proto.api.common.v1.Payload.encode(payload).finish());
      return { metadata: { encoding: utf8(ENCRYPTED), [KEY_ID]: utf8(keyId) }, data };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) =>
      isEncrypted(payload)
        ? proto.api.common.v1.Payload.decode(unseal(this.keys, { keyId: keyIdOf(payload), data: Buffer.from(payload.data ?? []) }))
        : payload,
    );
  }
}

const codecs = new WeakMap<PayloadKeySource, EncryptionCodec>();

/** One codec per key source, shared by a process's clients and worker. */
export function payloadCodec(config: PayloadKeyConfig): EncryptionCodec {
  const keys = payloadKeys(config);
  if (!codecs.has(keys)) codecs.set(keys, new EncryptionCodec(keys));
  return codecs.get(keys)!;
}

/** What every Temporal client and worker of the hub converts with. */
export function hubDataConverter(config: PayloadKeyConfig): DataConverter {
  return { payloadCodecs: [payloadCodec(config)], failureConverterPath: require.resolve("./failure-converter") };
}
