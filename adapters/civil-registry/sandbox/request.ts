/** Reading and answering HTTP requests in the agency's JSON format. */
import type http from "node:http";
import { AgencyError } from "./errors";

const MAX_BODY_BYTES = 64 * 1024;

export const invalid = (message: string) => new AgencyError(400, "INVALID_REQUEST", message);

/** Checks a JSON object's fields: `required` and `optional` map names to their typeof; others are refused. */
export function fields(body: Record<string, unknown>, required: Record<string, string>, optional: Record<string, string> = {}): void {
  for (const key of Object.keys(body)) if (!(key in required) && !(key in optional)) throw invalid(`unknown field "${key}"`);
  for (const key of Object.keys(required)) if (!(key in body)) throw invalid(`missing field "${key}"`);
  for (const [key, type] of Object.entries({ ...required, ...optional }))
    if (key in body && typeof body[key] !== type) throw invalid(`field "${key}" must be a ${type}`);
}

export function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw invalid("the path is not valid percent-encoding");
  }
}

export async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? ""))
    throw new AgencyError(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new AgencyError(413, "PAYLOAD_TOO_LARGE", `the body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw invalid("the body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalid("the body must be a JSON object");
  return body as Record<string, unknown>;
}

export function send(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}
