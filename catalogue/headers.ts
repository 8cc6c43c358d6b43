/**
 * The headers a mediated call passes on. To the provider: the caller's, without its token,
 * cookies and hop-by-hop headers (RFC 9110 section 7.6.1), with the provider's credentials
 * (forward.ts), the request id, a W3C `traceparent` and the calling subsystem. Back to the
 * caller: the provider's end-to-end headers, without cookies, with the request id.
 */
import { randomBytes } from "node:crypto";
import { validateHeaderName, validateHeaderValue } from "node:http";
import { HubError } from "../platform/errors";
import { pointerOf } from "./json-pointer";
import type { MediatedRequest } from "./mediation";

const HOP_BY_HOP = ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"];
const NOT_FORWARDED = new Set([...HOP_BY_HOP, "authorization", "cookie", "host", "content-length", "information-mediator-client", "x-road-client"]);
const NOT_ANSWERED = new Set([...HOP_BY_HOP, "set-cookie", "content-length", "server", "x-powered-by"]);

/** Headers a `Connection` header names are hop-by-hop too. */
const connectionListed = (headers: Record<string, string | undefined>) =>
  new Set(
    (headers.connection ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * Headers HTTP can carry, names and values (no CR, LF, NUL or other control characters): over
 * REST Node's parser refuses the rest; over NATS (catalogue.call) they arrive as strings.
 */
export function assertSendable(headers: Record<string, string | undefined>): void {
  const errors: { in: string; pointer: string; detail: string }[] = [];
  for (const [name, value] of Object.entries(headers)) {
    try {
      validateHeaderName(name);
      if (value !== undefined) validateHeaderValue(name, value);
    } catch {
      errors.push({
        in: "header",
        pointer: pointerOf([name]),
        detail: "is not a header HTTP can carry (a name of token characters; a value without CR, LF or NUL)",
      });
    }
  }
  if (errors.length)
    throw new HubError("HUB_ERR_REQUEST_INVALID", `Headers HTTP cannot carry: ${errors.map((e) => e.pointer.slice(1)).join(", ")}`, { errors });
}

export function forwardedHeaders(request: MediatedRequest, client: string): Record<string, string> {
  const listed = connectionListed(request.headers);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) if (value !== undefined && !NOT_FORWARDED.has(name) && !listed.has(name)) out[name] = value;
  out["x-request-id"] = request.requestId;
  out["x-govstack-client"] = client;
  if (!TRACEPARENT.test(out.traceparent ?? "")) out.traceparent = `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`;
  return out;
}

export function answerHeaders(provider: Record<string, string>, requestId: string): Record<string, string> {
  const listed = connectionListed(provider);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(provider)) if (!NOT_ANSWERED.has(name) && !listed.has(name)) out[name] = value;
  out["x-request-id"] = requestId;
  return out;
}
