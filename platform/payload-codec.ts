/**
 * Workflow payloads encrypted before they reach Temporal (AES-256-GCM, the key id in the
 * payload's metadata), so inputs, results, signals, queries, memos and failures are ciphertext
 * in Temporal's database and UI. A payload without the codec's encoding (recorded histories,
 * linkages started before the codec) passes through, so old histories still replay.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { DataConverter, Payload, PayloadCodec } from "@temporalio/common";
import { decodeMapFromPayloads } from "@temporalio/common/lib/internal-non-workflow";
import type { Client } from "@temporalio/client";
import { temporal as proto } from "@temporalio/proto";
import type { Config } from "./config";
import { payloadKeys, payloadKeysFile, type PayloadKeyRing, type PayloadKeySource } from "./payload-keys";

export const ENCRYPTED = "binary/encrypted";
export const KEY_ID = "encryption-key-id";

const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString("utf8") : undefined);

/** A payload under a key this node does not hold (the key ring lacks it: a copy of the file is behind, or keys were lost). */
export class UnknownPayloadKeyError extends Error {
  constructor(readonly keyId: string) {
    super(
      `Workflow payload encrypted under key ${JSON.stringify(keyId)}, which this node's payload keys lack: ` +
        `give every node the same key file (HUB_PAYLOAD_KEYS_FILE) or HUB_PAYLOAD_KEYS, with every key it ever used`,
    );
    this.name = "UnknownPayloadKeyError";
  }
}

/** A payload whose ciphertext, key id or tag does not authenticate: altered, or not written by this hub. */
export class PayloadIntegrityError extends Error {
  constructor(readonly keyId: string) {
    super(`Workflow payload under key ${JSON.stringify(keyId)} does not authenticate: it was altered, or not encrypted with that key`);
    this.name = "PayloadIntegrityError";
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
      const iv = randomBytes(IV_BYTES);
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
      if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadIntegrityError(id);
      let plain: Buffer;
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, data.subarray(0, IV_BYTES)).setAAD(utf8(id));
        decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new PayloadIntegrityError(id);
      }
      return proto.api.common.v1.Payload.decode(plain);
    });
  }
}

const codecs = new Map<string, EncryptionCodec>();

/** One codec per key source in a process, shared by its clients and worker. */
export function payloadCodec(config: PayloadKeySource): EncryptionCodec {
  const source = config.payloadKeys ? `inline:${config.payloadKeys}` : `file:${payloadKeysFile(config)}`;
  if (!codecs.has(source)) codecs.set(source, new EncryptionCodec(payloadKeys(config)));
  return codecs.get(source)!;
}

/**
 * What every Temporal client and worker of the hub converts with: the codec, and failures whose
 * message and stack trace travel as an (encrypted) payload. `HUB_PAYLOAD_CODEC=off`, for
 * benchmarks only, gives Temporal's defaults.
 */
export function hubDataConverter(config: PayloadKeySource & Partial<Pick<Config, "payloadCodec">>): DataConverter {
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
