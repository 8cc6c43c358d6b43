/**
 * The codec server for operators (Temporal's remote codec protocol): `POST /codec/decode` and
 * `POST /codec/encode`, used by the Temporal UI (`--ui-codec-endpoint`) and CLI
 * (`--codec-endpoint`, `--codec-auth`). Only an operator's HTTP Basic credentials
 * (`linkage-hub operators add`) open it; browsers only from the UI's origins (CORS with
 * credentials); every answer is audited (the operator, the namespace, how many payloads; never
 * their content). `GET /codec/` asks a browser for the credentials once, so the UI's requests
 * carry them. The path's last part chooses, as the protocol asks (`/codec//decode` works too).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import client from "prom-client";
import type { AuditLog } from "../audit/log";
import { bodyHash } from "../audit/chain";
import type { Config } from "../platform/config";
import { HubError } from "../platform/errors";
import type { HubNode } from "../platform/hub-node";
import { payloadCodec, UnknownPayloadKeyError, isEncrypted, keyIdOf } from "../platform/payload-codec";
import { operatorAuthenticator } from "../operators/registry";
import { payloadsFromJson, payloadsToJson } from "../operators/payloads-json";
import { fail, type Gateway } from "./pipeline";
import { sendJson } from "./own-operations";
import { stateOf } from "./request-state";

const CHALLENGE = 'Basic realm="linkage-hub operators", charset="UTF-8"';
const ALLOWED_HEADERS = "X-Namespace, Content-Type, Authorization";

const codecRequests = new client.Counter({
  name: "hub_codec_requests_total",
  help: "Codec server requests by endpoint (decode, encode, sign-in) and outcome (OK or the refusal's error code)",
  labelNames: ["endpoint", "outcome"] as const,
});

/** The UI origins whose pages may call the codec server: HUB_CODEC_ORIGINS, else the UI `npm start` runs. */
export const codecOrigins = (config: Pick<Config, "codecOrigins" | "temporalUiPort">): string[] =>
  config.codecOrigins ?? [`http://127.0.0.1:${config.temporalUiPort}`, `http://localhost:${config.temporalUiPort}`];

const unauthenticated = (detail: string) => new HubError("HUB_ERR_OPERATOR_UNAUTHENTICATED", detail, { headers: { "WWW-Authenticate": CHALLENGE } });

/** `Basic base64(name:secret)`, as the CLI's `--codec-auth` or a browser sends it. */
function basicCredentials(header: string | undefined): { name: string; secret: string } {
  const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header ?? "");
  if (!match) throw unauthenticated("Send an operator's credentials: Authorization: Basic base64(name:secret) (npx linkage-hub operators add)");
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) throw unauthenticated("HTTP Basic credentials are name:secret");
  return { name: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/**
 * CORS: a page of an allowed origin gets that origin back with credentials allowed; any other
 * origin is refused (403, with no CORS headers, so its script cannot read even that).
 */
function allowOrigin(req: IncomingMessage, res: ServerResponse, origins: string[]): void {
  const origin = req.headers.origin;
  res.setHeader("Vary", "Origin");
  if (origin === undefined) return;
  if (!origins.includes(origin))
    throw new HubError("HUB_ERR_CODEC_ORIGIN", `Pages of ${origin} may not call the codec server; allowed: ${origins.join(", ")} (HUB_CODEC_ORIGINS)`);
  res.setHeader("Access-Control-Allow-Origin", origin);
  res.setHeader("Access-Control-Allow-Credentials", "true");
}

/** What the request is, from the last part of its path under /codec/. */
function endpointOf(path: string): "decode" | "encode" | "sign-in" | undefined {
  const last = path.split("/").filter(Boolean).pop();
  if (last === "decode" || last === "encode") return last;
  return last === "codec" ? "sign-in" : undefined;
}

/** A refused body is still read (up to this much), so a client that is still sending reads the 413 rather than a broken pipe. */
const DRAINED_AT_MOST = 64 * 1024 * 1024;

async function readWithin(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
    else if (size > limit + DRAINED_AT_MOST) break;
  }
  if (size > limit) throw new HubError("HUB_ERR_REQUEST_TOO_LARGE", `The codec server takes at most ${limit} bytes (HUB_CODEC_MAX_BODY_BYTES)`);
  return Buffer.concat(chunks);
}

async function readPayloads(req: IncomingMessage, limit: number) {
  const mediaType = (req.headers["content-type"] ?? "application/json").split(";")[0]!.trim().toLowerCase();
  if (mediaType !== "application/json") throw new HubError("HUB_ERR_REQUEST_MEDIA_TYPE", `Send the payloads as application/json, not ${mediaType}`);
  const body = await readWithin(req, limit);
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new HubError("HUB_ERR_REQUEST_MALFORMED", `The body is not valid JSON: ${(err as Error).message}`);
  }
  return { body, payloads: payloadsFromJson(json) };
}

/** Decoded payloads; a payload under a key the hub does not hold refuses the whole request, naming the key (nothing is decrypted). */
async function decodeAll(codec: ReturnType<typeof payloadCodec>, payloads: Awaited<ReturnType<typeof readPayloads>>["payloads"]) {
  try {
    return await codec.decode(payloads);
  } catch (err) {
    if (err instanceof UnknownPayloadKeyError) {
      const index = payloads.findIndex((p) => isEncrypted(p) && keyIdOf(p) === err.keyId);
      const detail = `Payload ${index} is encrypted under key ${JSON.stringify(err.keyId)}, which the hub does not hold (HUB_PAYLOAD_KEYS_FILE); nothing was decrypted`;
      throw new HubError("HUB_ERR_CODEC_KEY_UNKNOWN", detail, { errors: [{ in: "body", pointer: `/payloads/${index}/metadata/encryption-key-id`, detail }] });
    }
    throw new HubError("HUB_ERR_REQUEST_INVALID", "A payload could not be decrypted: altered, or not encrypted by this hub's codec; nothing was decrypted");
  }
}

/** The handler for every path under /codec/; the gateway runs it before its routes. */
export function codecServer(gw: Gateway, audit: AuditLog) {
  const { config, db } = gw.node;
  const origins = codecOrigins(config);
  const authenticate = operatorAuthenticator(db);
  const codec = payloadCodec(config);
  return (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => {
    const state = stateOf(req);
    if (state.operation || !/^\/codec(\/|$)/.test(state.path)) return next();
    const endpoint = endpointOf(state.path);
    state.label = `codec.${endpoint ?? "unknown"}`;
    const answer = answerCodecRequest(gw.node, { req, res, endpoint, origins, authenticate, codec, audit });
    answer.then(
      () => codecRequests.inc({ endpoint: endpoint ?? "unknown", outcome: "OK" }),
      (err: unknown) => {
        codecRequests.inc({ endpoint: endpoint ?? "unknown", outcome: String((err as HubError).type ?? "ERROR") });
        fail(gw)(req, res, err);
      },
    );
  };
}

interface CodecRequest {
  req: IncomingMessage;
  res: ServerResponse;
  endpoint: ReturnType<typeof endpointOf>;
  origins: string[];
  authenticate: ReturnType<typeof operatorAuthenticator>;
  codec: ReturnType<typeof payloadCodec>;
  audit: AuditLog;
}

async function answerCodecRequest(node: HubNode, { req, res, endpoint, origins, authenticate, codec, audit }: CodecRequest): Promise<void> {
  allowOrigin(req, res, origins);
  if (req.method === "OPTIONS") {
    res.writeHead(204, {
      "Access-Control-Allow-Methods": "POST, OPTIONS",
      "Access-Control-Allow-Headers": ALLOWED_HEADERS,
      "Access-Control-Max-Age": "600",
      Allow: "POST, OPTIONS",
    });
    return void res.end();
  }
  if (!endpoint) throw new HubError("HUB_ERR_ROUTE_NOT_FOUND", "The codec server answers POST /codec/decode and POST /codec/encode");
  const allowed = endpoint === "sign-in" ? "GET" : "POST";
  if (req.method !== allowed) throw new HubError("HUB_ERR_ROUTE_METHOD", `${req.method} is not allowed here; use ${allowed}`, { headers: { Allow: allowed } });
  const { name, secret } = basicCredentials(req.headers.authorization);
  const operator = await authenticate(name, secret);
  if (!operator) throw unauthenticated("Unknown operator or wrong secret");
  if (endpoint === "sign-in") {
    res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" });
    return void res.end(
      `Signed in as ${operator}: the Temporal UI of this browser now decodes through this codec server (tick "include cross-origin credentials").\n`,
    );
  }
  const { body, payloads } = await readPayloads(req, node.config.codecMaxBodyBytes);
  const requestId = stateOf(req).id;
  const namespace = String(req.headers["x-namespace"] ?? node.config.temporalNamespace);
  const record = (outcome: string) =>
    audit.record({ operation: `codec.${endpoint}`, outcome, requestId, operator, namespace, payloads: payloads.length, requestHash: bodyHash(body) });
  let answer: unknown[];
  try {
    answer = endpoint === "decode" ? await decodeAll(codec, payloads) : await codec.encode(payloads);
  } catch (err) {
    await record(String((err as HubError).type));
    throw err;
  }
  await record("OK");
  sendJson(res, 200, payloadsToJson(answer as typeof payloads));
}
