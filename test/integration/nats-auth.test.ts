/**
 * NATS authentication and permissions on a real nats-server configured as the stack does it
 * (ops/stack/nats-server.ts): no credentials, no connection; each role publishes and
 * subscribes only where it may; `nats add-user` / `remove-user` take effect on the running
 * server without a restart.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { AckPolicy, connect, credsAuthenticator, type NatsConnection } from "nats";
import { loadConfig } from "../../platform/config";
import { natsAuth, natsAuthDir, stackCredsFile } from "../../platform/nats-auth";
import { countNatsRefusals, natsRefusals } from "../../platform/nats-refusals";
import { startNats } from "../../ops/stack/services";
import { waitFor, type Managed } from "../../ops/stack/processes";
import { freePort } from "../support/hub";

const ROOT = path.resolve(__dirname, "../..");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "nats-auth-"));
let url: string;
let nats: Managed;
let hub: NatsConnection;
const open: NatsConnection[] = [];

/** `npx linkage-hub nats ...` against this test's stack. */
async function cli(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, "bin/linkage-hub.js"), "nats", ...args], {
    cwd: ROOT,
    env: { ...process.env, HUB_DATA_DIR: dataDir, NATS_URL: url, NATS_CREDS: "" },
  });
  return stdout.trim();
}

async function connectAs(credsFile: string, inboxPrefix?: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url, authenticator: credsAuthenticator(new Uint8Array(fs.readFileSync(credsFile))), inboxPrefix });
  open.push(nc);
  return nc;
}

async function user(name: string, role: string, ...extra: string[]): Promise<NatsConnection> {
  const file = await cli("add-user", name, "--role", role, ...extra);
  assert.equal(file, path.join(natsAuthDir(dataDir), `${name}.creds`));
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  return connectAs(file, `_INBOX_${name}`);
}

/** The next error the server reports to `nc` after `act` (a permissions violation does not close the connection). */
async function serverError(nc: NatsConnection, act: () => void): Promise<string> {
  const statuses = nc.status();
  act();
  await nc.flush().catch(() => {});
  const error = (async () => {
    for await (const s of statuses) if (s.type === "error") return String(s.data);
    return "closed";
  })();
  let timer: NodeJS.Timeout | undefined;
  const none = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("no error from the server"), 10_000)));
  return Promise.race([error, none]).finally(() => clearTimeout(timer));
}

/** A subscription of the hub's that counts what reaches it. */
async function watch(subject: string): Promise<{ count: () => number; stop: () => void }> {
  let n = 0;
  const sub = hub.subscribe(subject, { callback: () => n++ });
  await hub.flush();
  return { count: () => n, stop: () => sub.unsubscribe() };
}

/** What reached `watcher` once the server has handled all `publisher` sent (a flush of each, in turn). */
async function delivered(watcher: { count: () => number }, publisher: NatsConnection): Promise<number> {
  await publisher.flush().catch(() => {});
  await hub.flush();
  return watcher.count();
}

before(async () => {
  url = `nats://127.0.0.1:${await freePort()}`;
  nats = await startNats(url, dataDir, () => {});
  hub = await connectAs(stackCredsFile(dataDir));
  const jsm = await hub.jetstreamManager();
  await jsm.streams.add({ name: "EVENTS", subjects: ["events.>"] });
});
after(async () => {
  for (const nc of open) await nc.close().catch(() => {});
  await nats?.stop();
});

test("a connection without credentials is refused", async () => {
  await assert.rejects(connect({ servers: url, reconnect: false }), /Authorization Violation/);
});

test("refused connections are counted in hub_nats_refusals_total from the server's advisories", async () => {
  const stop = await countNatsRefusals(loadConfig({ NATS_URL: url, HUB_DATA_DIR: dataDir }));
  const count = async () => (await natsRefusals.get()).values.find((v) => v.labels.kind === "authentication")?.value ?? 0;
  try {
    const before = await count();
    await assert.rejects(connect({ servers: url, reconnect: false }));
    await waitFor("the refusal counted", async () => (await count()) === before + 1, 10_000);
  } finally {
    await stop();
  }
});

test("a caller calls hub.v1.> and nothing else: not events, not Moleculer, not another caller's inbox", async () => {
  hub.subscribe("hub.v1.>", { callback: (_err, msg) => msg.respond("answer") });
  const caller = await user("billing", "caller");
  assert.equal(new TextDecoder().decode((await caller.request("hub.v1.civil-registry.identity.verify", "{}")).data), "answer");

  for (const subject of ["events.civil-registry.birth.registered", "MOL-linkage-hub.REQ.node-1"]) {
    const watcher = await watch(subject);
    assert.match(await serverError(caller, () => caller.publish(subject, "x")), /PERMISSIONS_VIOLATION/);
    assert.equal(await delivered(watcher, caller), 0, `${subject} reached a subscriber`);
    watcher.stop();
  }

  // The hub answering another caller: that caller's inbox is not readable by this one.
  const other = await user("payroll", "caller");
  let overheard = 0;
  assert.match(
    await serverError(caller, () => caller.subscribe("_INBOX_payroll.>", { callback: (err) => void (err || overheard++) })),
    /PERMISSIONS_VIOLATION/,
  );
  assert.equal(new TextDecoder().decode((await other.request("hub.v1.civil-registry.identity.verify", "{}")).data), "answer");
  await caller.flush();
  assert.equal(overheard, 0);
});

test("a consumer reads its own durable on EVENTS and cannot publish or make another's", async () => {
  await hub.jetstream().publish("events.civil-registry.birth.registered", "one");
  const consumer = await user("registry-mirror", "consumer");
  const jsm = await consumer.jetstreamManager();
  await jsm.consumers.add("EVENTS", { durable_name: "registry-mirror", ack_policy: AckPolicy.Explicit });
  const own = await consumer.jetstream().consumers.get("EVENTS", "registry-mirror");
  const msg = await own.next({ expires: 5000 });
  assert.equal(msg?.string(), "one");
  assert.equal(await msg!.ackAck(), true);

  await assert.rejects(jsm.consumers.add("EVENTS", { durable_name: "someone-else", ack_policy: AckPolicy.Explicit }));
  await assert.rejects(consumer.jetstream().publish("events.civil-registry.birth.registered", "forged", { timeout: 2000 }));
  assert.equal((await hub.jetstreamManager().then((m) => m.streams.info("EVENTS"))).state.messages, 1);
});

test("a device publishes on its own subjects only", async () => {
  const device = await user("gate-7", "device", "--subjects", "counts.place-1.gate-7");
  const watcher = await watch("counts.>");
  device.publish("counts.place-1.gate-7", "12");
  assert.equal(await delivered(watcher, device), 1);
  assert.match(await serverError(device, () => device.publish("counts.place-1.gate-8", "99")), /PERMISSIONS_VIOLATION/);
  assert.equal(await delivered(watcher, device), 1);
  watcher.stop();
});

test("add-user while the server runs, then remove-user: the credentials work, then are refused, without a restart", async () => {
  const pid = nats.child!.pid;
  const file = await cli("add-user", "late", "--role", "caller");
  const creds = fs.readFileSync(file);
  const late = await connectAs(file, "_INBOX_late");
  const closed = late.closed();
  await cli("remove-user", "late");
  assert.equal(fs.existsSync(file), false);
  // The reload drops the revoked user's connections and refuses new ones.
  await closed;
  await assert.rejects(connect({ servers: url, authenticator: credsAuthenticator(new Uint8Array(creds)), reconnect: false }), /Authorization Violation/);
  assert.equal(nats.child!.pid, pid);
  assert.equal(nats.child!.exitCode, null);
  assert.match(await cli("list-users"), /gate-7\s+device\s+counts\.place-1\.gate-7/);
});

test("with a certificate given, the stack's NATS serves TLS and natsAuth connects over it with the CA", async () => {
  const tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), "nats-tls-"));
  const file = (name: string) => path.join(tlsDir, name);
  const openssl = (...args: string[]) => promisify(execFile)("openssl", args, { cwd: tlsDir });
  await openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=test-ca");
  await openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
  fs.writeFileSync(file("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await openssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "1",
    "-extfile",
    "san.ext",
  );
  const tlsUrl = `nats://127.0.0.1:${await freePort()}`;
  const server = await startNats(tlsUrl, tlsDir, () => {}, { cert: file("server.pem"), key: file("server.key") });
  try {
    const config = loadConfig({ NATS_URL: tlsUrl, HUB_DATA_DIR: tlsDir, NATS_TLS_CA: file("ca.pem") });
    const nc = await connect({ servers: tlsUrl, ...natsAuth(config), reconnect: false });
    assert.equal(nc.info?.tls_required, true);
    await nc.close();
    // Without the CA the server's certificate is not trusted.
    await assert.rejects(connect({ servers: tlsUrl, ...natsAuth(loadConfig({ NATS_URL: tlsUrl, HUB_DATA_DIR: tlsDir })), reconnect: false }));
  } finally {
    await server.stop();
  }
});
