/**
 * The Temporal server on PostgreSQL (issue 23; docs/operations.md, "Temporal server on
 * PostgreSQL"): a PostgreSQL instance of the test's own made with initdb, and the pinned
 * temporal-server on it, as real processes on ports of the test's own (PostgreSQL 30432, Temporal
 * 30233 and the ports after it, metrics 30235) with their data in a scratch folder. A workflow
 * runs to completion; one waiting on a timer completes across a kill -9 of the server; one
 * waiting on a signal completes across a restart of PostgreSQL; a second start on the same
 * folder redoes neither schema nor namespace; nothing is left running. Needs no harness stack:
 * `node --import tsx --test test/cluster/temporal-server.test.ts` (the binaries are built first
 * if missing: test/cluster/binaries.test.ts).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client, Connection, type WorkflowHandle } from "@temporalio/client";
import { DefaultLogger, NativeConnection, Runtime, Worker } from "@temporalio/worker";
import type { temporal } from "@temporalio/proto";
import { loadConfig } from "../../platform/config";
import { hubDataConverter } from "../../platform/payload-codec";
import { SEARCH_ATTRIBUTES } from "../../workflows/linkages/visibility";
import { startPostgresInstance, PG_ROLE, type PostgresInstance } from "../../ops/stack/postgres-instance";
import { startTemporalServer, type TemporalServer } from "../../ops/stack/temporal-server";
import type { Steps } from "../fixtures/waiting-workflow";

const PG_PORT = 30432;
const ADDRESS = "127.0.0.1:30233";
const METRICS_PORT = 30235;
const TIMEOUT = { timeout: 120_000 };

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "temporal-server-"));
// The postgres user (PostgreSQL runs as it under root) must be able to enter the folder.
fs.chmodSync(dir, 0o755);
const logDir = path.join(dir, "logs");
const say = (line: string) => console.log(`[temporal-server] ${line}`);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
/** The process groups the test started (each server is its group's leader): none may outlive it. */
const groups = new Set<number>();
const track = (m: { child?: { pid?: number } }) => m.child?.pid && groups.add(m.child.pid);

let postgres: PostgresInstance;
let server: TemporalServer;
let client: Client;
let worker: Worker;
let workerRun: Promise<void>;
const taskQueue = `temporal-server-test-${randomUUID()}`;
const dataConverter = hubDataConverter({ dataDir: dir });
const serverOptions = (logLine: (line: string) => void) => ({
  address: ADDRESS,
  metricsPort: METRICS_PORT,
  postgres: { host: "127.0.0.1", port: PG_PORT, user: PG_ROLE, password: PG_ROLE },
  dataDir: dir,
  logDir,
  say: logLine,
});

/** Every process still alive in `pgids` (read from /proc: the server's children share its group). */
function aliveIn(pgids: Set<number>): number[] {
  return fs
    .readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        // Fields after the command's closing parenthesis: state, ppid, pgrp.
        const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
        return pgids.has(Number(fields[2]));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Waits until the workflow's history holds an event that `seen` picks (the wait it is now in). */
async function reached(handle: WorkflowHandle, seen: (e: temporal.api.history.v1.IHistoryEvent) => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!((await handle.fetchHistory()).events ?? []).some(seen)) {
    if (Date.now() > deadline) throw new Error(`workflow ${handle.workflowId} did not get to its wait`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const start = (wait: { timerMs: number } | { signal: true }) =>
  client.workflow.start("stepWaitStep", { taskQueue, workflowId: `wait-${randomUUID()}`, args: [wait] });

before(async () => {
  Runtime.install({ logger: new DefaultLogger("ERROR"), telemetryOptions: { logging: { filter: { core: "ERROR", other: "ERROR" } } } });
  const started = Date.now();
  postgres = await startPostgresInstance({ dir: path.join(dir, "postgres"), port: PG_PORT, logDir, say });
  track(postgres);
  const serverStarted = Date.now();
  server = await startTemporalServer(serverOptions(say));
  track(server);
  say(`figure: first healthy start ${seconds(serverStarted)} (schemas, namespace and search attributes included; ${seconds(started)} with initdb)`);
  client = new Client({ connection: await Connection.connect({ address: ADDRESS }), namespace: loadConfig().temporalNamespace, dataConverter });
  const steps: Steps = { step: async (name) => name };
  worker = await Worker.create({
    connection: await NativeConnection.connect({ address: ADDRESS }),
    namespace: loadConfig().temporalNamespace,
    taskQueue,
    workflowsPath: require.resolve("../fixtures/waiting-workflow"),
    activities: steps,
    dataConverter,
  });
  workerRun = worker.run();
});

after(async () => {
  // Whatever a failed test left: stop everything, then the scratch folder.
  if (worker?.getState() === "RUNNING") worker.shutdown();
  await workerRun?.catch(() => {});
  await server?.stop();
  await postgres?.stop();
  await client?.connection.close().catch(() => {});
  fs.rmSync(dir, { recursive: true, force: true });
});

let first: WorkflowHandle;

test("a workflow runs to completion on the server, with the hub's search attributes registered", TIMEOUT, async () => {
  const started = Date.now();
  first = await start({ timerMs: 100 });
  assert.deepEqual(await first.result(), ["before", "after"]);
  say(`first workflow done in ${seconds(started)}`);
  const known = await client.connection.operatorService.listSearchAttributes({ namespace: loadConfig().temporalNamespace });
  for (const name of SEARCH_ATTRIBUTES) assert.ok(name in (known.customAttributes ?? {}), `search attribute ${name}`);
});

test("a workflow waiting on a timer completes after the server is killed (-9) and restarted", TIMEOUT, async () => {
  const handle = await start({ timerMs: 4000 });
  await reached(handle, (e) => !!e.timerStartedEventAttributes);
  const pid = server.child!.pid!;
  const killed = Date.now();
  await server.kill();
  assert.deepEqual(aliveIn(new Set([pid])), [], "the killed server's group is gone");
  await server.restart();
  track(server);
  say(`figure: kill -9 to healthy ${seconds(killed)}`);
  assert.notEqual(server.child!.pid, pid);
  assert.deepEqual(await handle.result(), ["before", "after"]);
});

test("a workflow waiting on a signal completes after PostgreSQL restarts", TIMEOUT, async () => {
  const handle = await start({ signal: true });
  await reached(handle, (e) => !!e.activityTaskCompletedEventAttributes);
  const pid = postgres.child!.pid!;
  // The managed child is the postmaster itself (no runuser between), so a kill -9 reaches it.
  assert.equal(fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim(), "postgres");
  const restarted = Date.now();
  await postgres.restart();
  track(postgres);
  say(`figure: PostgreSQL restart ${seconds(restarted)}`);
  assert.notEqual(postgres.child!.pid, pid);
  await handle.signal("proceed");
  assert.deepEqual(await handle.result(), ["before", "after"]);
});

test("a workflow waiting on a timer completes after PostgreSQL is killed (-9) and started again (crash recovery)", TIMEOUT, async () => {
  const handle = await start({ timerMs: 3000 });
  await reached(handle, (e) => !!e.timerStartedEventAttributes);
  const pid = postgres.child!.pid!;
  const killed = Date.now();
  await postgres.kill();
  assert.deepEqual(aliveIn(new Set([pid])), [], "the postmaster and its backends are gone");
  await postgres.restart();
  track(postgres);
  say(`figure: PostgreSQL kill -9 to accepting connections ${seconds(killed)}`);
  assert.deepEqual(await handle.result(), ["before", "after"]);
});

test("a restart of the server (graceful stop, then start) keeps serving", TIMEOUT, async () => {
  const restarted = Date.now();
  await server.restart();
  track(server);
  say(`figure: server restart ${seconds(restarted)}`);
  assert.deepEqual(await (await start({ timerMs: 100 })).result(), ["before", "after"]);
});

test("a second start on the same data folder after stop redoes neither schema nor namespace", TIMEOUT, async () => {
  await server.stop();
  const lines: string[] = [];
  const again = Date.now();
  server = await startTemporalServer(serverOptions((line) => (lines.push(line), say(line))));
  track(server);
  say(`figure: second start ${seconds(again)}`);
  assert.equal(lines.filter((l) => /schema of temporal(_visibility)? at version \d/.test(l)).length, 2, lines.join("\n"));
  assert.ok(!lines.some((l) => /set up|registered/.test(l)), lines.join("\n"));
  assert.equal((await first.describe()).status.name, "COMPLETED", "the first workflow is still on record");
  assert.deepEqual(await (await start({ timerMs: 100 })).result(), ["before", "after"]);
});

test("under root, a data folder the postgres user may not enter is refused, naming the folder", { skip: process.getuid?.() !== 0 }, async () => {
  const closed = fs.mkdtempSync(path.join(dir, "closed-"));
  fs.chmodSync(closed, 0o700);
  await assert.rejects(startPostgresInstance({ dir: path.join(closed, "postgres"), port: PG_PORT + 1, logDir, say }), new RegExp(`may not enter ${closed}`));
});

test("stopping leaves nothing running", TIMEOUT, async () => {
  worker.shutdown();
  await workerRun;
  await server.stop();
  await postgres.stop();
  assert.deepEqual(aliveIn(groups), [], `processes left in the groups ${[...groups].join(", ")}`);
});
