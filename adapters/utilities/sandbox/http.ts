/** Reading requests and sending answers in the utility's JSON format (errors as `{err_code, err_msg}`). */
import type http from "node:http";

const MAX_BODY_BYTES = 256 * 1024;

export interface Answer {
  status: number;
  body: unknown;
}

/** An answer in the utility's own error format. */
export class UtilityError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  body(): { err_code: string; err_msg: string } {
    return { err_code: this.code, err_msg: this.message };
  }
}

export const badRequest = (message: string) => new UtilityError(400, "E_BAD_REQ", message);

/** The Idempotency-Key header, required on every order: 1 to 255 visible ASCII characters. */
export function idempotencyKeyOf(headers: http.IncomingHttpHeaders): string {
  const key = headers["idempotency-key"];
  if (typeof key !== "string" || !/^[\x21-\x7e]{1,255}$/.test(key))
    throw new UtilityError(400, "E_IDEM_KEY", "send an Idempotency-Key header (1 to 255 visible ASCII characters)");
  return key;
}

export async function readJson(req: http.IncomingMessage): Promise<unknown> {
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) throw new UtilityError(415, "E_MEDIA_TYPE", "send the body as application/json");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new UtilityError(413, "E_TOO_LARGE", `the body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw badRequest("the body is not valid JSON");
  }
}

export function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
