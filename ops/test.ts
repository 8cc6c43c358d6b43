/**
 * `npm test`: the whole suite against real services. Uses NATS, Temporal and PostgreSQL
 * where they already run at the test addresses, starts them otherwise, and stops what it
 * started. Test addresses differ from `npm start`'s, so both can run at once.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import fs from "node:fs";
import { stopAll, tcpReachable, type Managed } from "./stack/processes";
import { MissingPieceError } from "./stack/provision";
import { natsServers, stackCredsFile } from "../platform/nats-auth";
import { registerAgenciesWithOwnNode } from "./stack/agencies";
import { SANDBOXES, startNats, startSandbox, startTemporal, testDatabaseUrl, urlEnv } from "./stack/services";

const HELP = `Usage: npm test [-- <test files>]

Runs the unit, workflow and integration tests (node:test) against real services:
  NATS_URL            nats://127.0.0.1:14222   started with JetStream if nothing listens there,
                      with authentication; NATS_CREDS .data/test/nats-auth/hub.creds (its user);
                      a comma list of local URLs: a NATS cluster of that many nodes (with
                      HUB_STREAM_REPLICAS=3, the streams on all three)
  TEMPORAL_ADDRESS    127.0.0.1:17233          temporal server start-dev, if nothing listens there
  DATABASE_URL        the local PostgreSQL cluster (started if stopped), database linkage_hub_test
  CIVIL_REGISTRY_URL  http://127.0.0.1:14101   the agency sandboxes (civil registry; emergency,
                      utilities, public security and fire safety on the next ports), the last
                      two registered in the catalogue (a short-lived gateway node does it)
State and logs go to .data/test/, which a run that starts the services itself clears first
(and, without DATABASE_URL, it recreates linkage_hub_test). Give test files to run only those;
after the whole suite, test/final/ scans every store the run wrote for personal data.`;

const ROOT = path.resolve(__dirname, "..");
const say = (line: string) => console.log(`[test-stack] ${line}`);

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  const dataDir = path.join(ROOT, ".data/test");
  const env: NodeJS.ProcessEnv = {
    NATS_URL: process.env.NATS_URL ?? "nats://127.0.0.1:14222",
    TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS ?? "127.0.0.1:17233",
    TEMPORAL_UI_PORT: process.env.TEMPORAL_UI_PORT ?? "18233",
    TEMPORAL_METRICS_PORT: process.env.TEMPORAL_METRICS_PORT ?? "19233",
    ...Object.fromEntries(SANDBOXES.map((s) => [urlEnv(s), process.env[urlEnv(s)] ?? s.testUrl])),
    HUB_DATA_DIR: dataDir,
    // The test stack's own NATS user (made when it starts NATS), unless NATS_CREDS names one.
    NATS_CREDS: process.env.NATS_CREDS ?? stackCredsFile(dataDir),
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
  };
  const started: Managed[] = [];
  const cleanup = () => stopAll(started);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void cleanup().then(() => process.exit(130)));
  try {
    // No test stack running yet: this run owns it, and starts from clean state.
    const fresh = !(await tcpReachable("127.0.0.1", Number(new URL(natsServers(env.NATS_URL!)[0]!).port)));
    if (fresh) fs.rmSync(dataDir, { recursive: true, force: true });
    env.DATABASE_URL = await testDatabaseUrl(say, fresh);
    started.push(await startNats(env.NATS_URL!, dataDir, say));
    started.push(await startTemporal(env.TEMPORAL_ADDRESS!, { ui: Number(env.TEMPORAL_UI_PORT), metrics: Number(env.TEMPORAL_METRICS_PORT) }, dataDir, say));
    for (const sandbox of SANDBOXES) started.push(await startSandbox(sandbox.agency, env[urlEnv(sandbox)]!, dataDir, { DATABASE_URL: env.DATABASE_URL }, say));
    // The catalogue agencies, registered in the suite's database as npm start registers them.
    await registerAgenciesWithOwnNode(env, path.join(dataDir, "logs"), say);

    // One file at a time: the clusters of different files share NATS, and with it the
    // linkages' consumer group, which would hand one file's events to another's workers.
    const files = args.length ? args : ["test/unit/**/*.test.ts", "test/workflows/**/*.test.ts", "test/integration/**/*.test.ts"];
    say(`running ${files.join(" ")}`);
    const run = (list: string[]) =>
      new Promise<number>((resolve) => {
        const child = spawn(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", "--test-timeout=300000", ...list], {
          cwd: ROOT,
          env: { ...process.env, ...env },
          stdio: "inherit",
        });
        child.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0)));
      });
    const code = await run(files);
    if (args.length) return code;
    // After the whole suite: no store it wrote (logs, Temporal, JetStream, the hub database) holds an id number or name in clear.
    say("scanning every store the run wrote for personal data");
    return (await run(["test/final/stores-hold-no-personal-data.test.ts"])) || code;
  } catch (err) {
    console.error(err instanceof MissingPieceError ? `\n${err.message}\n` : err);
    return 1;
  } finally {
    await cleanup();
  }
}

main().then((code) => process.exit(code));
