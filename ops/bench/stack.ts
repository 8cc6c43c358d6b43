/**
 * The benchmark's own stack, apart from `npm start` and `npm test` (ports, state and database
 * of its own): NATS, Temporal, the sandboxes and one hub node on PostgreSQL, and a partner of
 * the run's own calling as partners do (client credentials, then the token).
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { openDb, type Db } from "../../platform/db";
import { addPartner } from "../../partners/registry";
import { PURPOSES, SCOPES } from "../../partners/vocabulary";
import { stopAll, tcpReachable, type Managed } from "../stack/processes";
import { MissingPieceError } from "../stack/provision";
import { SANDBOXES, startHubNode, startNats, startSandbox, startTemporal, testDatabaseUrl, urlEnv } from "../stack/services";

const ROOT = path.resolve(__dirname, "../..");

export const BENCH_PORTS = "NATS on 24222, Temporal on 27233, sandboxes on 24101-24103, the hub on 23000";

export interface BenchStack {
  env: NodeJS.ProcessEnv;
  api: string;
  db: Db;
  /** A random tag of this run, for business keys no other run has used. */
  run: string;
  /** Headers of a partner with every scope and purpose and a quota that never binds. */
  auth: Record<string, string>;
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
    HUB_PORT: "23000",
    HUB_SERVICES: "all",
    HUB_TOKEN_TTL_S: "3600",
    LOG_LEVEL: "warn",
  };
}

export async function startBenchStack(say: (line: string) => void): Promise<BenchStack> {
  const dataDir = path.join(ROOT, ".data/bench");
  const env = benchEnv(dataDir);
  const api = "http://127.0.0.1:23000";
  const started: Managed[] = [];
  const stop = () => stopAll(started.reverse());
  try {
    for (const port of [24222, 27233, 23000])
      if (await tcpReachable("127.0.0.1", port))
        throw new MissingPieceError(`port ${port} is in use: is another benchmark running? The benchmark starts a stack of its own.`);
    fs.rmSync(dataDir, { recursive: true, force: true });
    env.DATABASE_URL = await testDatabaseUrl(say, true, "linkage_hub_bench");
    started.push(await startNats(env.NATS_URL!, dataDir, say));
    started.push(await startTemporal(env.TEMPORAL_ADDRESS!, { ui: Number(env.TEMPORAL_UI_PORT), metrics: Number(env.TEMPORAL_METRICS_PORT) }, dataDir, say));
    for (const sandbox of SANDBOXES) started.push(await startSandbox(sandbox.agency, env[urlEnv(sandbox)]!, dataDir, { DATABASE_URL: env.DATABASE_URL }, say));
    started.push(await startHubNode("hub", { ...process.env, ...env }, `${api}/readyz`, path.join(dataDir, "logs")));
    say(`hub ready at ${api}`);
    const db = await openDb({ url: env.DATABASE_URL, pgliteDir: "" });
    const run = randomBytes(3).toString("hex");
    const auth = await partnerHeaders(db, api, run);
    return { env, api, db, run, auth, stop: async () => (await db.close(), await stop()) };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function partnerHeaders(db: Db, api: string, run: string): Promise<Record<string, string>> {
  const partner = await addPartner(db, { id: `bench-${run}`, scopes: [...SCOPES], purposes: [...PURPOSES], quota: 1_000_000 });
  const basic = Buffer.from(`${partner.partner.id}:${partner.clientSecret}`).toString("base64");
  const res = await fetch(`${api}/v1/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${basic}` },
    body: "grant_type=client_credentials",
  });
  const { access_token } = (await res.json()) as { access_token: string };
  return { authorization: `Bearer ${access_token}`, "data-purpose": "civil-registration" };
}
