/**
 * Temporal's codec server protocol carries `Payloads` as protobuf JSON: `{"payloads": [{"metadata":
 * {"encoding": "<base64>"}, "data": "<base64>"}]}`. Read and written with the protobuf types
 * themselves, so bytes are base64 and unknown fields refused, as the protocol asks.
 */
import type { Payload } from "@temporalio/common";
import { temporal as proto } from "@temporalio/proto";
import { HubError } from "../platform/errors";

const Payloads = proto.api.common.v1.Payloads;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A payload as protobuf JSON has its bytes as base64 strings (protobufjs would quietly drop a number). */
const isPayloadJson = (p: unknown) =>
  isObject(p) &&
  (p.metadata === undefined || (isObject(p.metadata) && Object.values(p.metadata).every((v) => typeof v === "string"))) &&
  (p.data === undefined || typeof p.data === "string");

export function payloadsFromJson(body: unknown): Payload[] {
  if (!isObject(body) || !Array.isArray(body.payloads) || !body.payloads.every(isPayloadJson))
    throw new HubError(
      "HUB_ERR_REQUEST_INVALID",
      'The body is Payloads as protobuf JSON: {"payloads": [{"metadata": {"<name>": "<base64>"}, "data": "<base64>"}]}',
    );
  try {
    return Payloads.fromObject(body).payloads;
  } catch (err) {
    throw new HubError("HUB_ERR_REQUEST_INVALID", `The body is not Payloads as protobuf JSON: ${(err as Error).message}`);
  }
}

export function payloadsToJson(payloads: Payload[]): { payloads: unknown[] } {
  const json = Payloads.toObject(Payloads.create({ payloads }), { bytes: String }) as { payloads?: unknown[] };
  return { payloads: json.payloads ?? [] };
}
