/**
 * The civil registry sandbox: plays the agency's own system in development and tests, in the
 * agency's own JSON format (`citizenNo`, `fullName`, errors as `{errorCode, errorMessage}`),
 * with fault injection on every `/registry/...` request (routes.ts). Besides: the JWKS
 * (`/.well-known/jwks.json`), `/healthz`, and for tests `/_sandbox/citizens`,
 * `/_sandbox/keys/rotate` and `/_sandbox/faults`.
 *
 * Run it: node --import tsx adapters/civil-registry/sandbox/server.ts
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ConfigError, loadConfig } from "../../../platform/config";
import { migrate, openDb, type Db } from "../../../platform/db";
import { ensureSigningKey, publicJwks, rotateSigningKey, SCHEMA } from "./credentials";
import { AgencyError } from "./errors";
import { createCitizens, seedIfEmpty } from "./registry";
import { decodePathPart, fields, invalid, readJson, send } from "./request";
import { registryRoutes } from "./routes";

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

function parseFaults(body: Record<string, unknown>): Faults {
  fields(body, {}, { latencyMs: "number", errorRate: "number", timeoutRate: "number", outage: "boolean", malformedRate: "number", lostResponseRate: "number" });
  const faults = { ...NO_FAULTS, ...body } as Faults;
  if (!Number.isInteger(faults.latencyMs) || faults.latencyMs < 0 || faults.latencyMs > 60_000) throw invalid("latencyMs must be a whole number from 0 to 60000");
  for (const key of ["errorRate", "timeoutRate", "malformedRate", "lostResponseRate"] as const)
    if (!(faults[key] >= 0 && faults[key] <= 1)) throw invalid(`${key} must be a number from 0 to 1`);
  return faults;
}

export async function startSandbox(opts: {
  host?: string;
  port: number;
  db: Db;
  seedCount?: number;
}): Promise<{ url: string; seeded: number; seedMs: number; close(): Promise<void> }> {
  const { db } = opts;
  await migrate(db, SCHEMA, path.join(__dirname, "migrations"));
  const seedStart = performance.now();
  const seeded = await seedIfEmpty(db, opts.seedCount ?? 3000);
  const seedMs = Math.round(performance.now() - seedStart);
  await ensureSigningKey(db);

  let url = "";
  let faults: Faults = { ...NO_FAULTS };
  const held = new Set<Socket>();
  const inflight = new Set<Promise<void>>();
  const stopping = new AbortController();

  const routes = registryRoutes(db, () => url);

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

  async function registry(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<void> {
    const f = faults;
    if (f.outage) return send(res, 503, { errorCode: "SERVICE_UNAVAILABLE", errorMessage: "the registry is unavailable" });
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
    const params = route.pattern.exec(pathname)!.slice(1).map(decodePathPart);
    const answer = await route.handle({ params, headers: req.headers, body: () => readJson(req) }).catch((err: unknown) => {
      if (err instanceof AgencyError) return { status: err.status, body: err.body() };
      throw err;
    });
    if (lose) return void res.destroy();
    send(res, answer.status, answer.body);
  }

  async function sandbox(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<void> {
    const route = `${req.method} ${pathname}`;
    switch (route) {
      case "GET /_sandbox/faults":
        return send(res, 200, faults);
      case "PUT /_sandbox/faults":
        faults = parseFaults(await readJson(req));
        return send(res, 200, faults);
      case "DELETE /_sandbox/faults":
        faults = { ...NO_FAULTS };
        return send(res, 200, faults);
      case "POST /_sandbox/citizens": {
        const body = await readJson(req);
        fields(body, { count: "number" }, { minAge: "number", maxAge: "number" });
        const count = body.count as number;
        if (!Number.isInteger(count) || count < 1 || count > 1000) throw invalid("count must be a whole number from 1 to 1000");
        const ages = { minAge: body.minAge as number | undefined, maxAge: body.maxAge as number | undefined };
        if ([ages.minAge ?? 18, ages.maxAge ?? 80].some((a) => !Number.isInteger(a) || a < 0 || a > 120) || (ages.minAge ?? 18) > (ages.maxAge ?? 80))
          throw invalid("minAge and maxAge must be whole years, 0 <= minAge <= maxAge <= 120");
        return send(res, 201, await createCitizens(db, count, ages));
      }
      case "POST /_sandbox/keys/rotate":
        // A new key signs from now on; retired keys stay in the JWKS.
        return send(res, 201, await rotateSigningKey(db));
    }
    const known = ["/_sandbox/faults", "/_sandbox/citizens", "/_sandbox/keys/rotate"].includes(pathname);
    throw known ? new AgencyError(405, "METHOD_NOT_ALLOWED", "method not allowed here") : new AgencyError(404, "NOT_FOUND", "no such resource");
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { pathname } = new URL(req.url ?? "/", "http://sandbox");
    try {
      if (pathname.startsWith("/registry/")) return await registry(req, res, pathname);
      if (pathname.startsWith("/_sandbox/")) return await sandbox(req, res, pathname);
      if (req.method === "GET" && pathname === "/.well-known/jwks.json") return send(res, 200, await publicJwks(db), { "cache-control": "max-age=300" });
      if (req.method === "GET" && pathname === "/healthz") {
        const ok = await db.query("SELECT 1").then(() => true, () => false);
        return send(res, ok ? 200 : 503, { status: ok ? "ok" : "unavailable" });
      }
      throw new AgencyError(404, "NOT_FOUND", "no such resource");
    } catch (err) {
      if (res.headersSent || res.destroyed) return;
      if (stopping.signal.aborted) return void res.destroy();
      if (err instanceof AgencyError) return send(res, err.status, err.body());
      console.error(JSON.stringify({ level: "error", msg: "civil-registry sandbox request failed", path: pathname, err: (err as Error).message }));
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
  url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  return {
    url,
    seeded,
    seedMs,
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
  const log = (entry: Record<string, unknown>) => console.log(JSON.stringify(entry));
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
  const target = new URL(config.civilRegistryUrl);
  if (target.protocol !== "http:") throw new ConfigError("CIVIL_REGISTRY_URL: the sandbox serves plain http only");
  const db = await openDb({ url: config.databaseUrl, pgliteDir: path.join(config.dataDir, "sandbox-civil-registry") });
  const sandbox = await startSandbox({ host: target.hostname.replace(/^\[|\]$/g, ""), port: Number(target.port || 80), db });
  log({ level: "info", msg: "civil-registry sandbox listening", url: sandbox.url, db: db.kind, seeded: sandbox.seeded, seedMs: sandbox.seedMs });
  const stop = async () => {
    await sandbox.close();
    await db.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}

if (require.main === module) void main().catch((err: unknown) => {
  console.error(JSON.stringify({ level: "fatal", msg: "civil-registry sandbox failed to start", err: (err as Error).message }));
  process.exit(1);
});
