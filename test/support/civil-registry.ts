/**
 * A civil registry of a test's own: the sandbox on a scratch PostgreSQL database, a hub node
 * (gateway and civil-registry adapter) calling it over HTTP, and the suite's NATS to read the
 * events the adapter publishes.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import os from "node:os";
import fs from "node:fs";
import { DeliverPolicy } from "nats";
import { openDb, type Db } from "../../platform/db";
import { connectBus, type EventBus } from "../../platform/events/bus";
import type { CloudEvent } from "../../platform/events/envelope";
import { startSandbox } from "../../adapters/civil-registry/sandbox/server";
import { createScratchDatabase } from "./scratch-db";
import { clusterEnv, json, post, startNode, type TestNode, callerBroker } from "./hub";

export interface RegistryCitizen {
  citizenNo: string;
  fullName: string;
  birthDate: string;
  sex: "MALE" | "FEMALE";
  maritalStatus: string;
  address: Record<string, string>;
}

export interface RegistryStack {
  db: Db;
  sandbox: Awaited<ReturnType<typeof startSandbox>>;
  node: TestNode;
  bus: EventBus;
  /** When the stack started: events before it belong to other tests. */
  since: Date;
  citizens(count: number, ages?: { minAge?: number; maxAge?: number }): Promise<RegistryCitizen[]>;
  faults(body: object): Promise<void>;
  /** Calls a hub action over NATS, as an internal caller would (most have no REST route); `meta` states a purpose, say. */
  call<T = Record<string, unknown>>(action: string, params: object, meta?: object): Promise<T>;
  /** The same, answering the error (code, type, data) instead of throwing it. */
  refusal(action: string, params: object, meta?: object): Promise<{ code: number; type: string; data: Record<string, unknown>; message: string }>;
  stop(): Promise<void>;
}

export async function startRegistryStack(env: NodeJS.ProcessEnv = {}): Promise<RegistryStack> {
  const since = new Date();
  const scratch = process.env.DATABASE_URL ? await createScratchDatabase() : undefined;
  const db = await openDb({ url: scratch?.url, pgliteDir: path.join(fs.mkdtempSync(path.join(os.tmpdir(), "civil-registry-")), "pglite") });
  const sandbox = await startSandbox({ port: 0, db, seedCount: 10 });
  const cluster = clusterEnv();
  const node = await startNode("api,civil-registry", { ...cluster, CIVIL_REGISTRY_URL: sandbox.url, CIVIL_REGISTRY_TIMEOUT_MS: "800", ...env });
  const id = randomBytes(3).toString("hex");
  const bus = await connectBus(process.env.NATS_URL!, `civil-registry-test-${id}`);
  const broker = await callerBroker(cluster.HUB_NAMESPACE!, ["civil-registry"], "civil-registry-test");
  return {
    db,
    sandbox,
    node,
    bus,
    since,
    async citizens(count, ages = {}) {
      const res = await post(`${sandbox.url}/_sandbox/citizens`, { count, ...ages });
      if (res.status !== 201) throw new Error(`citizens: ${res.status} ${await res.text()}`);
      return (await res.json()) as RegistryCitizen[];
    },
    async faults(body) {
      const res = await fetch(`${sandbox.url}/_sandbox/faults`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      if (res.status !== 200) throw new Error(`faults: ${res.status} ${await res.text()}`);
    },
    call: (action, params, meta) => broker.call(action, params, { meta }),
    refusal: (action, params, meta) =>
      broker.call(action, params, { meta }).then(
        (result) => {
          throw new Error(`${action} succeeded: ${JSON.stringify(result)}`);
        },
        (err: { code: number; type: string; data: Record<string, unknown>; message: string }) => err,
      ),
    async stop() {
      await broker.stop().catch(() => {});
      await bus.close().catch(() => {});
      await node.stop();
      await sandbox.close();
      await db.close();
      await scratch?.drop();
    },
  };
}

/** Every event of `type` on the EVENTS stream since `since`, oldest first. */
export async function eventsOf(bus: EventBus, type: string, since: Date): Promise<CloudEvent[]> {
  const consumer = await bus.js.consumers.get("EVENTS", {
    filterSubjects: [`events.${type}`],
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: since.toISOString(),
  });
  const out: CloudEvent[] = [];
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 500, expires: 1000 });
    let n = 0;
    for await (const m of batch) {
      n++;
      out.push(JSON.parse(new TextDecoder().decode(m.data)) as CloudEvent);
      if (m.info.pending === 0) return out;
    }
    if (n === 0) return out;
  }
}

/** Waits until `count` events of `type` match `pick`, then a little longer to catch a duplicate; returns them. */
export async function awaitEvents(
  bus: EventBus,
  type: string,
  since: Date,
  pick: (e: CloudEvent) => boolean,
  count = 1,
  timeoutMs = 10_000,
): Promise<CloudEvent[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await eventsOf(bus, type, since)).filter(pick);
    if (found.length >= count) {
      await new Promise((r) => setTimeout(r, 700)); // the outbox polls every 500 ms
      return (await eventsOf(bus, type, since)).filter(pick);
    }
    if (Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export { json, post };
