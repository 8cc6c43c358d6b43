/**
 * The OAuth 2.0 token endpoint, client credentials grant (RFC 6749 section 4.4): the client
 * authenticates with HTTP Basic or with `client_id`/`client_secret` in the form body, and
 * gets a short-lived access token for the scopes it asks for (all it is granted, if it asks
 * for none). Errors carry RFC 6749's `error` members inside an RFC 9457 problem.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { HubNode } from "../platform/hub-node";
import { authenticateClient } from "../partners/registry";
import { issueToken } from "../partners/tokens";
import { readRawBody } from "./body";

type OAuthError = "invalid_request" | "invalid_client" | "unsupported_grant_type" | "invalid_scope";

class TokenRefusal extends Error {
  constructor(
    readonly error: OAuthError,
    readonly status: number,
    message: string,
    readonly challenge?: string,
  ) {
    super(message);
  }
}

/** `application/x-www-form-urlencoded` decoding of one credential half (RFC 6749 section 2.3.1). */
const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, " "));

function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header ?? "");
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) throw new TokenRefusal("invalid_request", 400, "HTTP Basic credentials must be client_id:client_secret");
  try {
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw new TokenRefusal("invalid_request", 400, "HTTP Basic credentials are not form-urlencoded");
  }
}

export function tokenEndpoint(node: HubNode) {
  async function grant(req: IncomingMessage): Promise<object> {
    const mediaType = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (mediaType !== "application/x-www-form-urlencoded")
      throw new TokenRefusal("invalid_request", 400, "Send the token request as application/x-www-form-urlencoded");
    const form = new URLSearchParams((await readRawBody(req)).toString("utf8"));
    for (const name of new Set(form.keys()))
      if (form.getAll(name).length > 1) throw new TokenRefusal("invalid_request", 400, `The parameter ${name} is given more than once`);

    const basic = basicCredentials(req.headers.authorization);
    const posted = form.has("client_id") || form.has("client_secret");
    if (basic && posted)
      throw new TokenRefusal("invalid_request", 400, "Authenticate the client one way: HTTP Basic or client_id and client_secret in the body, not both");
    const id = basic?.id ?? form.get("client_id") ?? "";
    const secret = basic?.secret ?? form.get("client_secret") ?? "";
    const challenge = basic ? 'Basic realm="linkage-hub"' : undefined;

    const grantType = form.get("grant_type");
    if (!grantType) throw new TokenRefusal("invalid_request", 400, "grant_type is missing; use client_credentials");
    if (grantType !== "client_credentials")
      throw new TokenRefusal("unsupported_grant_type", 400, `grant_type ${grantType} is not supported; use client_credentials`);
    if (!id || !secret)
      throw new TokenRefusal(
        "invalid_client",
        401,
        "Client authentication is missing: HTTP Basic, or client_id and client_secret in the body",
        'Basic realm="linkage-hub"',
      );

    const partner = await authenticateClient(node.db, id, secret);
    if (!partner) throw new TokenRefusal("invalid_client", 401, "Client authentication failed (unknown or disabled client, or a wrong secret)", challenge);

    // No scope (or an empty one): every scope the partner is granted.
    const asked = form.get("scope")?.split(" ").filter(Boolean);
    const notGranted = (asked ?? []).filter((s) => !partner.scopes.includes(s));
    if (notGranted.length)
      throw new TokenRefusal("invalid_scope", 400, `Not granted to ${partner.id}: ${notGranted.join(", ")} (granted: ${partner.scopes.join(", ") || "none"})`);
    return issueToken(node.db, node.config, { partnerId: partner.id, scopes: asked?.length ? asked : partner.scopes });
  }

  return async function token(req: IncomingMessage & { headers: { "x-request-id"?: string } }, res: ServerResponse): Promise<void> {
    let status = 200;
    let body: object;
    try {
      body = await grant(req);
    } catch (err) {
      if (!(err instanceof TokenRefusal)) throw err;
      status = err.status;
      if (err.challenge) res.setHeader("WWW-Authenticate", err.challenge);
      body = {
        type: `/problems/oauth-${err.error.replace(/_/g, "-")}`,
        title: "Access token refused",
        status,
        detail: err.message,
        instance: "/v1/oauth/token",
        code: status === 401 ? "HUB_ERR_UNAUTHENTICATED" : "HUB_ERR_REQUEST_INVALID",
        requestId: String(req.headers["x-request-id"]),
        error: err.error,
        error_description: err.message,
      };
    }
    res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", Pragma: "no-cache" });
    res.end(JSON.stringify(body));
  };
}
