/** Reading requests and sending answers, in the agency's dialect. */
import type http from "node:http";
import { invalid, type Dialect } from "./errors";

export const JSON_TYPE = /^application\/json\b/i;

export function send(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The body's text, once its media type and size are checked. */
export async function readBody(req: http.IncomingMessage, dialect: Dialect, accepts: RegExp): Promise<string> {
  if (!accepts.test(req.headers["content-type"] ?? ""))
    throw dialect.error(415, dialect.codes.unsupportedMediaType, `send the body as ${dialect.mediaTypeName(accepts)}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > dialect.maxBodyBytes) throw dialect.error(413, dialect.codes.payloadTooLarge, `the body exceeds ${dialect.maxBodyBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function parseJson(text: string, dialect: Dialect): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalid(dialect, "the body is not valid JSON");
  }
}

export function jsonObject(value: unknown, dialect: Dialect): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(dialect, "the body must be a JSON object");
  return value as Record<string, unknown>;
}

export function decodePathPart(part: string, dialect: Dialect): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw invalid(dialect, "the path is not valid percent-encoding");
  }
}

/** The Idempotency-Key header, required on every change: 1 to 255 visible ASCII characters. */
export function idempotencyKeyOf(headers: http.IncomingHttpHeaders, dialect: Dialect): string {
  const key = headers["idempotency-key"];
  if (typeof key !== "string" || !/^[\x21-\x7e]{1,255}$/.test(key))
    throw dialect.error(400, dialect.codes.idempotencyKeyMissing, "send an Idempotency-Key header (1 to 255 visible ASCII characters)");
  return key;
}
