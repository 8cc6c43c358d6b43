/**
 * The utilities sandbox: plays the utility's own system in development and tests, in its
 * own JSON format (snake_case, service codes G/E/W, errors as `{err_code, err_msg}`), with
 * fault injection on every `/utility/...` request (the civil registry sandbox's design and
 * `/_sandbox/faults` API).
 *
 * Run it: node --import tsx adapters/utilities/sandbox/server.ts
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ajv } from "../../../contracts";
import { ConfigError, loadConfig } from "../../../platform/config";
import { migrate, openDb, type Db } from "../../../platform/db";
import { isServiceChangeRequest, isTransferRequest, type ServiceChangeRequest, type TransferRequest } from "../agency-format";
import { badRequest, idempotencyKeyOf, readJson, send, UtilityError, type Answer } from "./http";
import { createAccounts, lookup, placeOrder, SCHEMA, seedIfEmpty, type Holder } from "./store";

export interface Faults {
  /** Delay before handling, in milliseconds. */
  latencyMs: number;
  /** Share of requests answered 500 before anything is done. */
  errorRate: number;
  /** Share of requests never answered (the socket is held until the client goes away). */
  timeoutRate: number;
  /** Every request answered 503. */
  outage: boolean;
  /** Share of requests answered with the success status and a body that breaks the format; nothing is done. */
  malformedRate: number;
  /** Share of requests carried out and committed, whose answer is then lost (socket destroyed). */
  lostResponseRate: number;
}

export const NO_FAULTS: Readonly<Faults> = { latencyMs: 0, errorRate: 0, timeoutRate: 0, outage: false, malformedRate: 0, lostResponseRate: 0 };

const rate = { type: "number", minimum: 0, maximum: 1 } as const;
const isFaults = ajv.compile<Partial<Faults>>({
  type: "object",
  properties: { latencyMs: { type: "integer", minimum: 0, maximum: 60_000 }, errorRate: rate, timeoutRate: rate, outage: { type: "boolean" }, malformedRate: rate, lostResponseRate: rate },
  additionalProperties: false,
});

const addressPart = { type: "string", minLength: 1, maxLength: 100, pattern: "^[^\\u0000-\\u001f\\u007f,]+$" } as const;
const isHolders = ajv.compile<{ holders: Holder[] }>({
  type: "object",
  properties: {
    holders: {
      type: "array",
      minItems: 1,
      maxItems: 1000,
      items: {
        type: "object",
        properties: {
          idNumber: { type: "string", format: "resident-id" },
          name: { type: "string", minLength: 1, maxLength: 100, pattern: "^[^\\u0000-\\u001f\\u007f]+$" },
          address: {
            type: "object",
            properties: { province: addressPart, city: addressPart, district: addressPart, street: addressPart, postcode: { type: "string", pattern: "^[0-9]{6}$" } },
            required: ["province", "city", "district", "street", "postcode"],
            additionalProperties: false,
          },
        },
        required: ["idNumber", "name", "address"],
        additionalProperties: false,
      },
    },
  },
  required: ["holders"],
  additionalProperties: false,
});

/** 1 to `max` characters, none of them a control character. */
const isText = (s: string, max: number) => {
  const chars = [...s];
  return chars.length >= 1 && chars.length <= max && chars.every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f);
};

const problems = (errors: typeof isFaults.errors) => ajv.errorsText(errors, { dataVar: "body" });

interface Route {
  method: string;
  path: string;
  successStatus: number;
  handle: (req: http.IncomingMessage, query: URLSearchParams) => Promise<Answer>;
  /** Syntactically JSON, but not what the utility's format promises. */
  malformed: unknown[];
}

function routes(db: Db): Route[] {
  const order = (type: "SUSPEND" | "RESTORE") => async (req: http.IncomingMessage) => {
    const key = idempotencyKeyOf(req.headers);
    const body = await readJson(req);
    if (!isServiceChangeRequest(body)) throw badRequest(problems(isServiceChangeRequest.errors));
    const r: ServiceChangeRequest = body;
    return placeOrder(db, key, { type, premise: r.premise, acct_no: r.acct_no, svc_code: r.svc_code, reason_txt: r.reason_txt, incident_ref: r.incident_ref });
  };
  const orderMalformed = [{ order_ref: 12, order_type: "SUSPEND" }, { order_ref: "SO0000000000000000", acct_results: "all" }, {}];
  return [
    {
      method: "GET",
      path: "/utility/v1/accounts",
      successStatus: 200,
      malformed: [{ rec_cnt: "one" }, { acct_list: [{ acct_no: 5 }], rec_cnt: 1 }, []],
      async handle(_req, query) {
        for (const name of query.keys()) if (name !== "post_code" && name !== "street") throw badRequest(`unknown parameter ${name}`);
        const postCode = query.getAll("post_code");
        const street = query.getAll("street");
        if (postCode.length !== 1 || !/^[0-9]{6}$/.test(postCode[0]!)) throw badRequest("post_code must be six digits, once");
        if (street.length !== 1 || !isText(street[0]!, 100)) throw badRequest("street must be 1 to 100 characters, once");
        return { status: 200, body: await lookup(db, postCode[0]!, street[0]!) };
      },
    },
    { method: "POST", path: "/utility/v1/suspensions", successStatus: 201, malformed: orderMalformed, handle: order("SUSPEND") },
    { method: "POST", path: "/utility/v1/restorations", successStatus: 201, malformed: orderMalformed, handle: order("RESTORE") },
    {
      method: "POST",
      path: "/utility/v1/transfers",
      successStatus: 201,
      malformed: orderMalformed,
      async handle(req) {
        const key = idempotencyKeyOf(req.headers);
        const body = await readJson(req);
        if (!isTransferRequest(body)) throw badRequest(problems(isTransferRequest.errors));
        const r: TransferRequest = body;
        return placeOrder(db, key, { type: "TRANSFER", premise: r.premise, acct_no: r.acct_no, new_holder: r.new_holder });
      },
    },
  ];
}

export async function startSandbox(opts: {
  host?: string;
  port: number;
  db: Db;
  /** How many of the civil registry sandbox's seeded citizens get accounts (its default: 3000). */
  seedCount?: number;
}): Promise<{ url: string; seeded: number; seedMs: number; close(): Promise<void> }> {
  const { db } = opts;
  await migrate(db, SCHEMA, path.join(__dirname, "migrations"));
  const seedStart = performance.now();
  const seeded = await seedIfEmpty(db, opts.seedCount ?? 3000);
  const seedMs = Math.round(performance.now() - seedStart);

  let faults: Faults = { ...NO_FAULTS };
  const held = new Set<Socket>();
  const inflight = new Set<Promise<void>>();
  const stopping = new AbortController();
  const table = routes(db);
  const hit = (r: number) => r > 0 && Math.random() < r;

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

  async function utility(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const f = faults;
    if (f.outage) return send(res, 503, { err_code: "E_UNAVAIL", err_msg: "the utility system is unavailable" });
    if (f.latencyMs > 0) await sleep(f.latencyMs, undefined, { signal: stopping.signal });
    if (hit(f.errorRate)) return send(res, 500, { err_code: "E_INTERNAL", err_msg: "injected fault" });
    if (hit(f.timeoutRate)) return hold(res);

    const candidates = table.filter((r) => r.path === url.pathname);
    const route = candidates.find((r) => r.method === req.method);
    if (!route) {
      if (candidates.length) return send(res, 405, { err_code: "E_METHOD", err_msg: `use ${candidates.map((r) => r.method).join(", ")}` });
      return send(res, 404, { err_code: "E_NOT_FOUND", err_msg: "no such resource" });
    }
    // Decided before handling: a malformed answer comes with nothing done.
    if (hit(f.malformedRate)) return send(res, route.successStatus, route.malformed[Math.floor(Math.random() * route.malformed.length)]);
    const lose = hit(f.lostResponseRate);
    const answer = await route.handle(req, url.searchParams).catch((err: unknown) => {
      if (err instanceof UtilityError) return { status: err.status, body: err.body() };
      throw err;
    });
    if (lose) return void res.destroy();
    send(res, answer.status, answer.body);
  }

  async function sandbox(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<void> {
    switch (`${req.method} ${pathname}`) {
      case "GET /_sandbox/faults":
        return send(res, 200, faults);
      case "PUT /_sandbox/faults": {
        const body = await readJson(req);
        if (!isFaults(body)) throw badRequest(problems(isFaults.errors));
        faults = { ...NO_FAULTS, ...body };
        return send(res, 200, faults);
      }
      case "DELETE /_sandbox/faults":
        faults = { ...NO_FAULTS };
        return send(res, 200, faults);
      case "POST /_sandbox/accounts": {
        const body = await readJson(req);
        if (!isHolders(body)) throw badRequest(problems(isHolders.errors));
        return send(res, 201, await createAccounts(db, body.holders));
      }
    }
    const known = ["/_sandbox/faults", "/_sandbox/accounts"].includes(pathname);
    throw known ? new UtilityError(405, "E_METHOD", "method not allowed here") : new UtilityError(404, "E_NOT_FOUND", "no such resource");
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://sandbox");
    } catch {
      return send(res, 400, badRequest("bad request target").body());
    }
    try {
      if (url.pathname.startsWith("/utility/")) return await utility(req, res, url);
      if (url.pathname.startsWith("/_sandbox/")) return await sandbox(req, res, url.pathname);
      if (req.method === "GET" && url.pathname === "/healthz") {
        const ok = await db.query("SELECT 1").then(() => true, () => false);
        return send(res, ok ? 200 : 503, { status: ok ? "ok" : "unavailable" });
      }
      throw new UtilityError(404, "E_NOT_FOUND", "no such resource");
    } catch (err) {
      if (res.headersSent || res.destroyed) return;
      if (stopping.signal.aborted) return void res.destroy();
      if (err instanceof UtilityError) return send(res, err.status, err.body());
      console.error(JSON.stringify({ level: "error", msg: "utilities sandbox request failed", path: url.pathname, err: (err as Error).message }));
      send(res, 500, { err_code: "E_INTERNAL", err_msg: "unexpected error" });
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

  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
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
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
  const target = new URL(config.utilitiesUrl);
  if (target.protocol !== "http:") throw new ConfigError("UTILITIES_URL: the sandbox serves plain http only");
  const db = await openDb({ url: config.databaseUrl, pgliteDir: path.join(config.dataDir, "sandbox-utilities") });
  const sandbox = await startSandbox({ host: target.hostname.replace(/^\[|\]$/g, ""), port: Number(target.port || 80), db });
  console.log(JSON.stringify({ level: "info", msg: "utilities sandbox listening", url: sandbox.url, db: db.kind, seeded: sandbox.seeded, seedMs: sandbox.seedMs }));
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
    console.error(JSON.stringify({ level: "fatal", msg: "utilities sandbox failed to start", err: (err as Error).message }));
    process.exit(1);
  });
