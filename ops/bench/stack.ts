/**
 * The benchmark's own stack, apart from `npm start` and `npm test` (ports, state and database
 * of its own): NATS, Temporal, the sandboxes and one hub node on PostgreSQL (or, with
 * `pglite`, on the embedded PGlite `npm start` runs), and a partner of the run's own, added
 * over NATS as the CLI does, calling as partners do (client credentials, then the token).
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../platform/config";
import { natsAuth, natsServers, stackCredsFile } from "../../platform/nats-auth";
import { openDb, type Db } from "../../platform/db";
import type { Credentials } from "../../partners/registry";
import { PURPOSES, SCOPES } from "../../partners/vocabulary";
import { stopAll, tcpReachable, type Managed } from "../stack/processes";
import { MissingPieceError } from "../stack/provision";
import { registerAgencies, registrationLine } from "../stack/agencies";
import { SANDBOXES, startHubNode, startNats, startSandbox, startTemporal, testDatabaseUrl, urlEnv } from "../stack/services";

const ROOT = path.resolve(__dirname, "../..");

export const BENCH_PORTS = "NATS on 24222, Temporal on 27233, sandboxes on 24101-24106, the hub on 23000";

export interface BenchStack {
  env: NodeJS.ProcessEnv;
  api: string;
  /** The hub's database, on PostgreSQL only (PGlite belongs to the hub's process). */
  db?: Db;
  database: "PostgreSQL" | "PGlite";
  dataDir: string;
  /** A random tag of this run, for business keys no other run has used. */
  run: string;
  /** Headers of a partner with every scope and purpose and a quota that never binds. */
  auth: Record<string, string>;
  /** The partner's subsystem, the client its access rights name. */
  subsystem: string;
  /** The process id of a process the stack started: "hub", "sandbox-civil-registry"... */
  pid(name: string): number | undefined;
  /** Stops the hub node and starts it again with `env` added (the rest of the stack stays up). */
  restartHub(env: NodeJS.ProcessEnv): Promise<void>;
  stop(): Promise<void>;
}

function benchEnv(dataDir: string): NodeJS.ProcessEnv {
  return {
    NATS_URL: "nats://127.0.0.1:24222",
    TEMPORAL_ADDRESS: "127.0.0.1:27233",
    TEMPORAL_UI_PORT: "28233",
    TEMPORAL_METRICS_PORT: "29233",
    HUB_WORKER_METRICS_PORT: "off",
    ...Object.fromEntries(SANDBOXES.map((s, i) => [urlEnv(s), `http://127.0.0.1:${24101 + i}`])),
    HUB_DATA_DIR: dataDir,
    // The stack's own NATS user (made when it starts NATS), whatever NATS_CREDS this shell has.
    NATS_CREDS: stackCredsFile(dataDir),
    HUB_PORT: "23000",
    HUB_SERVICES: "all",
    HUB_TOKEN_TTL_S: "3600",
    LOG_LEVEL: "warn",
    // bench:flights loads its zones after the hub has started: they are held within 5 s, not 60.
    FLIGHTS_SYNC_MS: "5000",
  };
}

export interface BenchStackOptions {
  /** The embedded PGlite `npm start` runs, not PostgreSQL. */
  pglite?: boolean;
  /** The hub's LOG_LEVEL; "warn" unless said, "info" to pay for logs as `npm start` does. */
  logLevel?: string;
  /** Node's arguments for the hub node (`--cpu-prof`...). */
  hubNodeArgs?: string[];
}

export async function startBenchStack(say: (line: string) => void, opts: BenchStackOptions = {}): Promise<BenchStack> {
  const dataDir = path.join(ROOT, opts.pglite ? ".data/bench-pglite" : ".data/bench");
  const env = benchEnv(dataDir);
  if (opts.logLevel) env.LOG_LEVEL = opts.logLevel;
  const api = "http://127.0.0.1:23000";
  const started: Managed[] = [];
  const stop = () => stopAll(started);
  try {
    for (const port of [24222, 27233, 23000])
      if (await tcpReachable("127.0.0.1", port))
        throw new MissingPieceError(`port ${port} is in use: is another benchmark running? The benchmark starts a stack of its own.`);
    fs.rmSync(dataDir, { recursive: true, force: true });
    // Empty, not unset: the processes' environment is this one's, which may carry DATABASE_URL.
    env.DATABASE_URL = opts.pglite ? "" : await testDatabaseUrl(say, true, "linkage_hub_bench");
    started.push(await startNats(env.NATS_URL!, dataDir, say));
    started.push(await startTemporal(env.TEMPORAL_ADDRESS!, { ui: Number(env.TEMPORAL_UI_PORT), metrics: Number(env.TEMPORAL_METRICS_PORT) }, dataDir, say));
    for (const sandbox of SANDBOXES) started.push(await startSandbox(sandbox.agency, env[urlEnv(sandbox)]!, dataDir, { DATABASE_URL: env.DATABASE_URL }, say));
    const startHub = (extra: NodeJS.ProcessEnv = {}) =>
      startHubNode("hub", { ...process.env, ...env, ...extra }, `${api}/readyz`, path.join(dataDir, "logs"), { nodeArgs: opts.hubNodeArgs });
    started.push(await startHub());
    say(`hub ready at ${api} on ${opts.pglite ? `PGlite in ${dataDir}` : "PostgreSQL"}`);
    for (const r of await registerAgencies({ ...process.env, ...env })) say(registrationLine(r));
    const db = opts.pglite ? undefined : await openDb({ url: env.DATABASE_URL, pgliteDir: "" });
    const run = randomBytes(3).toString("hex");
    const partner = await benchPartner({ ...process.env, ...env }, run);
    const auth = await partnerHeaders(api, partner);
    const pid = (name: string) => started.find((s) => s.name === name)?.child?.pid;
    const database = opts.pglite ? "PGlite" : "PostgreSQL";
    const subsystem = partner.partner.subsystem;
    let stopped: Promise<void> | undefined;
    // One stop however many ask: a Ctrl-C may come while the run's own end is stopping the stack.
    const stopOnce = () => (stopped ??= (async () => (await db?.close(), await stop()))());
    const restartHub = async (extra: NodeJS.ProcessEnv) => {
      const at = started.findIndex((s) => s.name === "hub");
      await started[at]!.stop();
      started[at] = await startHub(extra);
    };
    return { env, api, db, database, dataDir, run, auth, subsystem, pid, restartHub, stop: stopOnce };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The run's partner, added by the hub's `partners` service over NATS (whatever its database). */
async function benchPartner(env: NodeJS.ProcessEnv, run: string): Promise<Credentials> {
  const broker = new ServiceBroker({
    namespace: loadConfig(env).namespace,
    nodeID: `bench-${process.pid}-${run}`,
    transporter: { type: "NATS", options: { servers: natsServers(env.NATS_URL!), ...natsAuth(loadConfig(env)) } },
    logger: false,
    // Short-lived, and often inside a process with its own Ctrl-C handling (npm start, the bench):
    // Moleculer's own handlers would exit the process before that stops what it started.
    skipProcessEventRegistration: true,
  });
  await broker.start();
  try {
    await broker.waitForServices(["partners"], 10_000);
    return await broker.call<Credentials, object>("partners.add", { id: `bench-${run}`, scopes: [...SCOPES], purposes: [...PURPOSES], quota: 1_000_000 });
  } finally {
    await broker.stop();
  }
}

async function partnerHeaders(api: string, partner: Credentials): Promise<Record<string, string>> {
  const basic = Buffer.from(`${partner.partner.id}:${partner.clientSecret}`).toString("base64");
  const res = await fetch(`${api}/v1/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${basic}` },
    body: "grant_type=client_credentials",
  });
  const { access_token } = (await res.json()) as { access_token: string };
  return { authorization: `Bearer ${access_token}`, "data-purpose": "civil-registration" };
}
