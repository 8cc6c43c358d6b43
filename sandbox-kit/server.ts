/**
 * The HTTP server every agency sandbox runs on: fault injection on the agency's routes (under
 * `prefix`), `/_sandbox/faults`, the agency's extra endpoints, `/healthz`, and a `close()` that
 * lets in-flight requests finish and lets go of the sockets held by injected timeouts.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Db } from "../platform/db";
import { invalid, SandboxError, type Answer, type Dialect } from "./errors";
import { NO_FAULTS, hit, parseFaults, type Faults } from "./faults";
import { JSON_TYPE, decodePathPart, jsonObject, parseJson, readBody, send } from "./http";

export interface Request {
  /** The route pattern's groups, percent-decoded. */
  params: string[];
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  /** The body's text, once its media type (the route's `accepts`) and size are checked. */
  text(): Promise<string>;
  /** The body as JSON, any value. */
  json(): Promise<unknown>;
  /** The body as a JSON object. */
  object(): Promise<Record<string, unknown>>;
}

/** One of the agency's own routes, all under fault injection. */
export interface Route {
  method: string;
  pattern: RegExp;
  successStatus: number;
  /** The media types the body may have (default JSON). */
  accepts?: RegExp;
  handle: (req: Request) => Promise<Answer>;
  /** Syntactically JSON, but not what the agency's format promises. */
  malformed: unknown[];
}

/** An endpoint outside fault injection, keyed `METHOD /path`. */
export type Endpoints = Record<string, (req: Request) => Promise<Answer>>;

export interface SandboxServer {
  url: string;
  close(): Promise<void>;
}

/** Where a sandbox listens and its database: what every `startSandbox` takes. */
export interface ListenOptions {
  host?: string;
  port: number;
  db: Db;
}

/** What a sandbox with seed data answers `startSandbox` with. */
export interface SeededSandbox extends SandboxServer {
  seeded: number;
  seedMs: number;
}

export interface ServeOptions {
  /** For log lines: "emergency" logs "emergency sandbox request failed". */
  name: string;
  dialect: Dialect;
  /** The path prefix of the agency's routes, e.g. "/registry/", or several ("/venues", "/inspections") where they sit at the root. */
  prefix: string | string[];
  routes: Route[];
  /** The 503 message under an outage. */
  outageMessage: string;
  endpoints?: Endpoints;
  /** Reads a `PUT /_sandbox/faults` body (default: parseFaults). */
  parseFaults?: (body: unknown) => Faults;
}

/** One running sandbox: its options, the faults in force, and what it must let go of on close. */
interface Sandbox {
  opts: ServeOptions;
  endpoints: Endpoints;
  faults: Faults;
  /** Sockets held open by injected timeouts. */
  held: Set<Socket>;
  inflight: Set<Promise<void>>;
  stopping: AbortController;
}

export async function serve(listen: ListenOptions, opts: ServeOptions): Promise<SandboxServer> {
  const sandbox: Sandbox = { opts, endpoints: {}, faults: { ...NO_FAULTS }, held: new Set(), inflight: new Set(), stopping: new AbortController() };
  sandbox.endpoints = { ...testEndpoints(sandbox, listen.db), ...opts.endpoints };
  const server = http.createServer((req, res) => {
    const done: Promise<void> = handle(sandbox, req, res).finally(() => sandbox.inflight.delete(done));
    sandbox.inflight.add(done);
  });
  const host = listen.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      sandbox.stopping.abort();
      for (const socket of sandbox.held) socket.destroy();
      server.closeIdleConnections();
      await Promise.allSettled([...sandbox.inflight]);
      server.closeAllConnections();
      await closed;
    },
  };
}

/** `/_sandbox/faults` (read, set, clear) and `/healthz`, outside fault injection. */
function testEndpoints(sandbox: Sandbox, db: Db): Endpoints {
  const { dialect } = sandbox.opts;
  const readFaults = sandbox.opts.parseFaults ?? ((body: unknown) => parseFaults(body, dialect));
  return {
    "GET /_sandbox/faults": async () => ({ status: 200, body: sandbox.faults }),
    "PUT /_sandbox/faults": async (req) => {
      sandbox.faults = readFaults(await req.json());
      return { status: 200, body: sandbox.faults };
    },
    "DELETE /_sandbox/faults": async () => {
      sandbox.faults = { ...NO_FAULTS };
      return { status: 200, body: sandbox.faults };
    },
    "GET /healthz": async () => {
      const ok =
        !sandbox.faults.outage &&
        (await db.query("SELECT 1").then(
          () => true,
          () => false,
        ));
      // `sandbox` lets the stack tell a sandbox already listening here from some other server.
      return { status: ok ? 200 : 503, body: { status: ok ? "ok" : "unavailable", sandbox: sandbox.opts.name } };
    },
  };
}

function request(dialect: Dialect, req: http.IncomingMessage, url: URL, params: string[], accepts = JSON_TYPE): Request {
  const text = () => readBody(req, dialect, accepts);
  const json = async () => parseJson(await text(), dialect);
  return { params, query: url.searchParams, headers: req.headers, text, json, object: async () => jsonObject(await json(), dialect) };
}

const sendError = (res: http.ServerResponse, err: SandboxError) => send(res, err.status, err.body(), err.headers());

/** Never answers: resolves when the client (or shutdown) closes the connection. */
function hold(sandbox: Sandbox, res: http.ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const socket = res.socket;
    if (!socket) return resolve();
    sandbox.held.add(socket);
    res.once("close", () => {
      sandbox.held.delete(socket);
      resolve();
    });
  });
}

async function handle(sandbox: Sandbox, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const { dialect, prefix, name } = sandbox.opts;
  let url: URL;
  try {
    url = new URL(req.url ?? "/", "http://sandbox");
  } catch {
    return sendError(res, invalid(dialect, "bad request target"));
  }
  try {
    if ([prefix].flat().some((p) => url.pathname.startsWith(p))) return await agency(sandbox, req, res, url);
    return await endpoint(sandbox, req, res, url);
  } catch (err) {
    if (res.headersSent || res.destroyed) return;
    if (sandbox.stopping.signal.aborted) return void res.destroy();
    if (err instanceof SandboxError) return sendError(res, err);
    console.error(JSON.stringify({ level: "error", msg: `${name} sandbox request failed`, path: url.pathname, err: (err as Error).message }));
    sendError(res, dialect.error(500, dialect.codes.internal, "unexpected error"));
  }
}

/** The agency's own routes, under the faults in force. */
async function agency(sandbox: Sandbox, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  const { dialect, routes, outageMessage } = sandbox.opts;
  const { codes } = dialect;
  const f = sandbox.faults;
  if (f.outage) return sendError(res, dialect.error(503, codes.unavailable, outageMessage));
  if (f.latencyMs > 0) await sleep(f.latencyMs, undefined, { signal: sandbox.stopping.signal });
  if (hit(f.errorRate)) return sendError(res, dialect.error(500, codes.internal, "injected fault"));
  if (hit(f.timeoutRate)) return hold(sandbox, res);

  const candidates = routes.filter((r) => r.pattern.test(url.pathname));
  const route = candidates.find((r) => r.method === req.method);
  if (!route) {
    if (candidates.length) return sendError(res, dialect.error(405, codes.methodNotAllowed, `use ${candidates.map((r) => r.method).join(", ")}`));
    return sendError(res, dialect.error(404, codes.notFound, "no such resource"));
  }
  // Decided before handling: a malformed answer comes with nothing done.
  if (hit(f.malformedRate)) return send(res, route.successStatus, route.malformed[Math.floor(Math.random() * route.malformed.length)]);
  const lose = hit(f.lostResponseRate);
  const params = route.pattern
    .exec(url.pathname)!
    .slice(1)
    .map((p) => decodePathPart(p, dialect));
  const answer = await route.handle(request(dialect, req, url, params, route.accepts)).catch((err: unknown): Answer => {
    if (err instanceof SandboxError) return { status: err.status, body: err.body(), headers: err.headers() };
    throw err;
  });
  if (lose) return void res.destroy();
  send(res, answer.status, answer.body, answer.headers);
}

async function endpoint(sandbox: Sandbox, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  const { dialect } = sandbox.opts;
  const handler = sandbox.endpoints[`${req.method} ${url.pathname}`];
  if (handler) {
    const answer = await handler(request(dialect, req, url, []));
    return send(res, answer.status, answer.body, answer.headers);
  }
  // Only the test endpoints say 405; elsewhere a wrong method is simply not found.
  const known = url.pathname.startsWith("/_sandbox/") && Object.keys(sandbox.endpoints).some((k) => k.slice(k.indexOf(" ") + 1) === url.pathname);
  throw known ? dialect.error(405, dialect.codes.methodNotAllowed, "method not allowed here") : dialect.error(404, dialect.codes.notFound, "no such resource");
}
