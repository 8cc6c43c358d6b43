/**
 * The emergency services sandbox: plays the agency's dispatch system in development and
 * tests. Alerts come in as CAP 1.2 XML; answers are the agency's own JSON (receipts,
 * dispatches, errors as `{errorCode, errorMessage}`), with fault injection on every
 * `/cad/...` request (the civil registry sandbox's fault design and `/_sandbox/faults` API).
 *
 * Run it: node --import tsx adapters/emergency/sandbox/server.ts
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ConfigError, loadConfig } from "../../../platform/config";
import { migrate, openDb, type Db } from "../../../platform/db";
import { AgencyError, dispatchUnits, findIncident, receiveAlert, seedIfEmpty, SCHEMA, type Answer } from "./cad";

export interface Faults {
  /** Delay before handling, in milliseconds. */
  latencyMs: number;
  /** Share of requests answered 500 before anything is done. */
  errorRate: number;
  /** Share of requests never answered (the socket is held until the client goes away). */
  timeoutRate: number;
  /** Every request answered 503 SERVICE_UNAVAILABLE. */
  outage: boolean;
  /** Share of requests answered with the success status and a body that breaks the format; nothing is done. */
  malformedRate: number;
  /** Share of requests carried out and committed, whose answer is then lost (socket destroyed). */
  lostResponseRate: number;
}

export const NO_FAULTS: Readonly<Faults> = { latencyMs: 0, errorRate: 0, timeoutRate: 0, outage: false, malformedRate: 0, lostResponseRate: 0 };

const MAX_BODY_BYTES = 128 * 1024;
const UNIT_TYPES = ["FIRE_ENGINE", "AMBULANCE", "POLICE", "HAZMAT"];
const invalid = (message: string) => new AgencyError(400, "INVALID_REQUEST", message);

interface Request {
  params: string[];
  headers: http.IncomingHttpHeaders;
  body: () => Promise<string>;
}

interface CadRoute {
  method: string;
  pattern: RegExp;
  successStatus: number;
  /** Media types the body may have (none: no body). */
  accepts?: RegExp;
  handle: (req: Request) => Promise<Answer>;
  /** Syntactically JSON, but not what the agency's format promises. */
  malformed: unknown[];
}

async function readBody(req: http.IncomingMessage, accepts: RegExp): Promise<string> {
  if (!accepts.test(req.headers["content-type"] ?? "")) throw new AgencyError(415, "UNSUPPORTED_MEDIA_TYPE", `send the body as ${accepts.source}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new AgencyError(413, "PAYLOAD_TOO_LARGE", `the body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJsonObject(text: string): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalid("the body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalid("the body must be a JSON object");
  return body as Record<string, unknown>;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function idempotencyKey(req: Request): string {
  const key = req.headers["idempotency-key"];
  if (typeof key !== "string" || !/^[\x21-\x7e]{1,255}$/.test(key))
    throw new AgencyError(400, "IDEMPOTENCY_KEY_MISSING", "send an Idempotency-Key header (1 to 255 visible ASCII characters)");
  return key;
}

function parseFaults(body: Record<string, unknown>): Faults {
  const types: Record<string, string> = { latencyMs: "number", errorRate: "number", timeoutRate: "number", outage: "boolean", malformedRate: "number", lostResponseRate: "number" };
  for (const [k, v] of Object.entries(body)) {
    if (!(k in types)) throw invalid(`unknown field "${k}"`);
    if (typeof v !== types[k]) throw invalid(`field "${k}" must be a ${types[k]}`);
  }
  const faults = { ...NO_FAULTS, ...body } as Faults;
  if (!Number.isInteger(faults.latencyMs) || faults.latencyMs < 0 || faults.latencyMs > 60_000) throw invalid("latencyMs must be a whole number from 0 to 60000");
  for (const key of ["errorRate", "timeoutRate", "malformedRate", "lostResponseRate"] as const)
    if (!(faults[key] >= 0 && faults[key] <= 1)) throw invalid(`${key} must be a number from 0 to 1`);
  return faults;
}

export async function startSandbox(opts: { host?: string; port: number; db: Db }): Promise<{ url: string; seeded: number; close(): Promise<void> }> {
  const { db } = opts;
  await migrate(db, SCHEMA, path.join(__dirname, "migrations"));
  const seeded = await seedIfEmpty(db);

  let faults: Faults = { ...NO_FAULTS };
  const held = new Set<Socket>();
  const inflight = new Set<Promise<void>>();
  const stopping = new AbortController();

  const routes: CadRoute[] = [
    {
      method: "POST",
      pattern: /^\/cad\/v1\/alerts$/,
      successStatus: 201,
      accepts: /^application\/(cap\+)?xml\b/i,
      malformed: [{ receiptId: 42 }, { incidentNo: "nope", status: "OK" }, {}],
      async handle(req) {
        const key = idempotencyKey(req);
        return receiveAlert(db, key, await req.body());
      },
    },
    {
      method: "POST",
      pattern: /^\/cad\/v1\/incidents\/(INC-[0-9A-F]{12})\/dispatches$/,
      successStatus: 201,
      accepts: /^application\/json\b/i,
      malformed: [{ dispatchId: null, units: "many" }, { units: [] }, { dispatch: {} }],
      async handle(req) {
        const key = idempotencyKey(req);
        const body = parseJsonObject(await req.body());
        const units = body.units;
        if (Object.keys(body).some((k) => k !== "units")) throw invalid("only the field \"units\" is allowed");
        if (!Array.isArray(units) || units.length === 0 || units.length > 4) throw invalid("units must be a list of 1 to 4 {type, count}");
        for (const u of units as Record<string, unknown>[])
          if (typeof u !== "object" || u === null || !UNIT_TYPES.includes(u.type as string) || !Number.isInteger(u.count) || (u.count as number) < 1 || (u.count as number) > 10)
            throw invalid(`each unit request is {type: ${UNIT_TYPES.join("|")}, count: 1 to 10}`);
        return dispatchUnits(db, key, req.params[0]!, units as { type: "FIRE_ENGINE"; count: number }[]);
      },
    },
    {
      method: "GET",
      pattern: /^\/cad\/v1\/incidents\/(INC-[0-9A-F]{12})$/,
      successStatus: 200,
      malformed: [{ incidentNo: 7 }],
      async handle(req) {
        const incident = await findIncident(db, req.params[0]!);
        if (!incident) throw new AgencyError(404, "INCIDENT_NOT_FOUND", "no incident with this number");
        return { status: 200, body: incident };
      },
    },
  ];

  const hit = (rate: number) => rate > 0 && Math.random() < rate;

  /** Never answers: resolves when the client (or shutdown) closes the connection. */
  const hold = (res: http.ServerResponse) =>
    new Promise<void>((resolve) => {
      const socket = res.socket;
      if (!socket) return resolve();
      held.add(socket);
      res.once("close", () => {
        held.delete(socket);
        resolve();
      });
    });

  async function cad(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<void> {
    const f = faults;
    if (f.outage) return send(res, 503, { errorCode: "SERVICE_UNAVAILABLE", errorMessage: "the dispatch system is unavailable" });
    if (f.latencyMs > 0) await sleep(f.latencyMs, undefined, { signal: stopping.signal });
    if (hit(f.errorRate)) return send(res, 500, { errorCode: "INTERNAL_ERROR", errorMessage: "injected fault" });
    if (hit(f.timeoutRate)) return hold(res);

    const candidates = routes.filter((r) => r.pattern.test(pathname));
    const route = candidates.find((r) => r.method === req.method);
    if (!route) {
      if (candidates.length) return send(res, 405, { errorCode: "METHOD_NOT_ALLOWED", errorMessage: `use ${candidates.map((r) => r.method).join(", ")}` });
      return send(res, 404, { errorCode: "NOT_FOUND", errorMessage: "no such resource" });
    }
    // Decided before handling: a malformed answer comes with nothing done.
    if (hit(f.malformedRate)) return send(res, route.successStatus, route.malformed[Math.floor(Math.random() * route.malformed.length)]);
    const lose = hit(f.lostResponseRate);
    const params = route.pattern.exec(pathname)!.slice(1);
    const answer = await route.handle({ params, headers: req.headers, body: () => readBody(req, route.accepts ?? /^$/) }).catch((err: unknown) => {
      if (err instanceof AgencyError) return { status: err.status, body: err.body() };
      throw err;
    });
    if (lose) return void res.destroy();
    send(res, answer.status, answer.body);
  }

  async function sandbox(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<void> {
    switch (`${req.method} ${pathname}`) {
      case "GET /_sandbox/faults":
        return send(res, 200, faults);
      case "PUT /_sandbox/faults":
        faults = parseFaults(parseJsonObject(await readBody(req, /^application\/json\b/i)));
        return send(res, 200, faults);
      case "DELETE /_sandbox/faults":
        faults = { ...NO_FAULTS };
        return send(res, 200, faults);
    }
    throw pathname === "/_sandbox/faults" ? new AgencyError(405, "METHOD_NOT_ALLOWED", "method not allowed here") : new AgencyError(404, "NOT_FOUND", "no such resource");
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { pathname } = new URL(req.url ?? "/", "http://sandbox");
    try {
      if (pathname.startsWith("/cad/")) return await cad(req, res, pathname);
      if (pathname.startsWith("/_sandbox/")) return await sandbox(req, res, pathname);
      if (req.method === "GET" && pathname === "/healthz") {
        const ok = await db.query("SELECT 1").then(() => true, () => false);
        return send(res, ok ? 200 : 503, { status: ok ? "ok" : "unavailable" });
      }
      throw new AgencyError(404, "NOT_FOUND", "no such resource");
    } catch (err) {
      if (res.headersSent || res.destroyed) return;
      if (stopping.signal.aborted) return void res.destroy();
      if (err instanceof AgencyError) return send(res, err.status, err.body());
      console.error(JSON.stringify({ level: "error", msg: "emergency sandbox request failed", path: pathname, err: (err as Error).message }));
      send(res, 500, { errorCode: "INTERNAL_ERROR", errorMessage: "unexpected error" });
    }
  }

  const server = http.createServer((req, res) => {
    const done: Promise<void> = handle(req, res).finally(() => inflight.delete(done));
    inflight.add(done);
  });
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  return {
    url,
    seeded,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      stopping.abort();
      for (const socket of held) socket.destroy();
      server.closeIdleConnections();
      await Promise.allSettled([...inflight]);
      server.closeAllConnections();
      await closed;
    },
  };
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
  const target = new URL(config.emergencyUrl);
  if (target.protocol !== "http:") throw new ConfigError("EMERGENCY_URL: the sandbox serves plain http only");
  const db = await openDb({ url: config.databaseUrl, pgliteDir: path.join(config.dataDir, "sandbox-emergency") });
  const sandbox = await startSandbox({ host: target.hostname.replace(/^\[|\]$/g, ""), port: Number(target.port || 80), db });
  console.log(JSON.stringify({ level: "info", msg: "emergency sandbox listening", url: sandbox.url, db: db.kind, seededUnits: sandbox.seeded }));
  const stop = async () => {
    await sandbox.close();
    await db.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}

if (require.main === module)
  void main().catch((err: unknown) => {
    console.error(JSON.stringify({ level: "fatal", msg: "emergency sandbox failed to start", err: (err as Error).message }));
    process.exit(1);
  });
