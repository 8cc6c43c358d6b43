/**
 * Temporal's codec server protocol carries `Payloads` as protobuf JSON: `{"payloads": [{"metadata":
 * {"encoding": "<base64>"}, "data": "<base64>"}]}`. Read and written with the protobuf types
 * themselves, so bytes are base64 and unknown fields refused, as the protocol asks.
 */
import type { Payload } from "@temporalio/common";
import { temporal as proto } from "@temporalio/proto";
import { HubError } from "../platform/errors";

const Payloads = proto.api.common.v1.Payloads;

export function payloadsFromJson(body: unknown): Payload[] {
  if (typeof body !== "object" || body === null || !Array.isArray((body as { payloads?: unknown }).payloads))
    throw new HubError("HUB_ERR_REQUEST_INVALID", 'The body is Payloads as protobuf JSON: {"payloads": [{"metadata": {...}, "data": "<base64>"}]}');
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
