/** Reads a JSON request body within a size limit; refuses other media types and bad JSON. */
import type { IncomingMessage } from "node:http";
import { HubError } from "../platform/errors";

export const MAX_BODY_BYTES = 64 * 1024;

export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? 0);
  const hasBody = declared > 0 || req.headers["transfer-encoding"] !== undefined;
  if (!hasBody) return undefined;
  const mediaType = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (mediaType !== "application/json" && !/^application\/[\w.-]+\+json$/.test(mediaType))
    throw new HubError("HUB_ERR_REQUEST_MEDIA_TYPE", `Send the body as application/json, not ${mediaType || "an unnamed media type"}`);
  if (declared > MAX_BODY_BYTES) throw new HubError("HUB_ERR_REQUEST_TOO_LARGE", `The body may be at most ${MAX_BODY_BYTES} bytes`);

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HubError("HUB_ERR_REQUEST_TOO_LARGE", `The body may be at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HubError("HUB_ERR_REQUEST_MALFORMED", `The body is not valid JSON: ${(err as Error).message}`);
  }
}
