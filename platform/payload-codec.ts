/**
 * Workflow payloads encrypted before they reach Temporal (AES-256-GCM, the key id in the
 * payload's metadata), so inputs, results, signals, queries, memos and failures are ciphertext
 * in Temporal's database and UI. A payload without the codec's encoding (recorded histories,
 * linkages started before the codec) passes through, so old histories still replay.
 */
import type { DataConverter, Payload, PayloadCodec } from "@temporalio/common";
import { decodeMapFromPayloads } from "@temporalio/common/lib/internal-non-workflow";
import type { Client } from "@temporalio/client";
import { temporal as proto } from "@temporalio/proto";
import type { Config } from "./config";
import { payloadKeys, type PayloadKeyConfig, type PayloadKeySource } from "./payload-keys";
import { seal, unseal } from "./sealing";

export { PayloadIntegrityError, UnknownPayloadKeyError } from "./sealing";

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

/**
 * What every Temporal client and worker of the hub converts with: the codec, and failures whose
 * message and stack trace travel as an (encrypted) payload. `HUB_PAYLOAD_CODEC=off`, for
 * benchmarks only, gives Temporal's defaults.
 */
export function hubDataConverter(config: PayloadKeyConfig & Partial<Pick<Config, "payloadCodec">>): DataConverter {
  if (config.payloadCodec === "off") return {};
  return { payloadCodecs: [payloadCodec(config)], failureConverterPath: require.resolve("./failure-converter") };
}

/** A raw memo (as listed by the visibility API) decoded through the client's codec. */
export async function decodeMemo(client: Client, fields: Record<string, Payload> | null | undefined): Promise<Record<string, unknown>> {
  return (await decodeMapFromPayloads(client.options.loadedDataConverter, fields)) ?? {};
}

/**
 * Every payload in a Temporal message (a history, a description), with where it sits: those
 * the codec encrypts. Not those Temporal must read in clear: search attributes (its index)
 * and the SDK's patch markers (a patch id and a flag), which carry no personal data.
 */
export function payloadsIn(value: unknown, at = ""): { at: string; payload: Payload }[] {
  if (!value || typeof value !== "object" || value instanceof Uint8Array) return [];
  const o = value as Record<string, unknown>;
  if (o.metadata && typeof o.metadata === "object" && "data" in o) return [{ at, payload: o as Payload }];
  if (o.markerName === "core_patch") return [];
  return Object.keys(o)
    .filter((k) => k !== "searchAttributes" && k !== "indexedFields")
    .flatMap((k) => payloadsIn(o[k], `${at}.${k}`));
}
