/** /readyz checks what the node's services need, and follows NATS: 503 naming it while nats-server is down, 200 again once it is back. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureBinary } from "../../ops/stack/provision";
import { spawnManaged, tcpReachable, waitFor, type Managed } from "../../ops/stack/processes";
import { prepareNatsServer } from "../../ops/stack/nats-server";
import { clusterEnv, freePort, json, startNode, type TestNode } from "../support/hub";

let natsBin: string;
let natsPort: number;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "readiness-nats-"));
let nats: Managed | undefined;
let node: TestNode;

// Configured as the stack configures it, authentication included (the same users across restarts).
const server = prepareNatsServer(dir);

async function startNats(): Promise<void> {
  const args = ["-c", server.configFile, "-js", "-a", "127.0.0.1", "-p", String(natsPort), "-sd", dir];
  nats = spawnManaged({ name: "nats", command: natsBin, args, logDir: dir });
  await waitFor("nats", () => tcpReachable("127.0.0.1", natsPort), 10_000, nats.child);
}

async function readyz(): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${node.url}/readyz`);
  return { status: res.status, body: await json(res) };
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  await waitFor(what, check, 20_000);
}

before(async () => {
  natsBin = await ensureBinary("nats-server", () => {});
  natsPort = await freePort();
  await startNats();
  node = await startNode("api", { ...clusterEnv(), NATS_URL: `nats://127.0.0.1:${natsPort}`, NATS_CREDS: server.credsFile });
});
after(async () => {
  await node?.stop();
  await nats?.stop();
});

test("readyz is 200 with every dependency of a gateway up: NATS and PostgreSQL, not Temporal, which a gateway never calls", async () => {
  const { status, body } = await readyz();
  assert.equal(status, 200);
  assert.deepEqual(body.checks, { nats: { status: "up" }, postgres: { status: "up" } });
});

test("a node that runs linkages checks Temporal too", async () => {
  const linkages = await startNode("linkages", { ...clusterEnv(), NATS_URL: `nats://127.0.0.1:${natsPort}`, NATS_CREDS: server.credsFile });
  try {
    const body = await json(await fetch(`${linkages.url}/readyz`));
    assert.deepEqual(body.checks, { nats: { status: "up" }, temporal: { status: "up" }, postgres: { status: "up" } });
  } finally {
    await linkages.stop();
  }
});

test("readyz turns 503 naming NATS when nats-server stops, and 200 when it returns", async () => {
  await nats!.stop();
  await until("readyz 503", async () => (await readyz()).status === 503);
  const down = await readyz();
  assert.equal(down.body.status, "unavailable");
  const checks = down.body.checks as Record<string, { status: string }>;
  assert.equal(checks.nats!.status, "down");
  assert.equal(checks.postgres!.status, "up");
  // Liveness is not readiness: the process is alive all along.
  assert.equal((await fetch(`${node.url}/healthz`)).status, 200);

  await startNats();
  await until("readyz 200", async () => (await readyz()).status === 200);
});
