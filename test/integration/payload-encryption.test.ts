/**
 * Workflow payloads encrypted on the real stack: what Temporal holds of a marriage linkage (its
 * history read raw, its memo, its database file) names nobody; a failure naming a person is
 * ciphertext too; a key rotation (the CLI) with a linkage in flight; a key a node lacks is named.
 *
 * The cluster reads a key file of its own, first a copy of the test key the encrypted history of
 * the determinism guard was recorded with (workflows/histories/encrypted/); with
 * RECORD_HISTORIES=1 the first test records that history if it has no file yet.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { Client, Connection, WorkflowFailedError } from "@temporalio/client";
import { DefaultLogger, NativeConnection, Runtime, Worker } from "@temporalio/worker";
import { temporal as proto } from "@temporalio/proto";
import type { Payload } from "@temporalio/common";
import { clusterEnv, hubTemporalClient, json, post, settle, startNode, type TestNode } from "../support/hub";
import { loadConfig } from "../../platform/config";
import { ENCRYPTED, hubDataConverter, keyIdOf, payloadsIn } from "../../platform/payload-codec";
import { ensureBinary } from "../../ops/stack/provision";
import type { Refusing } from "../fixtures/failing-activity-workflow";

interface Person {
  citizenNo: string;
  fullName: string;
  sex: "MALE" | "FEMALE";
  address: Record<string, string>;
}

const ROOT = path.join(__dirname, "../..");
const ENCRYPTED_HISTORIES = path.join(ROOT, "workflows/histories/encrypted");
const registry = process.env.CIVIL_REGISTRY_URL!;
const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "payload-keys-")), "payload-keys.json");
fs.copyFileSync(path.join(ENCRYPTED_HISTORIES, "payload-keys.json"), keyFile);
fs.chmodSync(keyFile, 0o600);
const env: NodeJS.ProcessEnv = { ...clusterEnv(), HUB_PAYLOAD_KEYS_FILE: keyFile };
const nodes: TestNode[] = [];
let api: string;
let hub: Client;
let raw: Connection;

before(async () => {
  // The SDK would log the failing activity's error, the person it names included: errors only.
  Runtime.install({ logger: new DefaultLogger("ERROR"), telemetryOptions: { logging: { filter: { core: "ERROR", other: "ERROR" } } } });
  nodes.push(await startNode("civil-registry", env), await startNode("linkages,worker", env), await startNode("api", env));
  api = nodes[2]!.url;
  hub = await hubTemporalClient({ ...process.env, ...env });
  raw = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
});
after(async () => {
  await fetch(`${registry}/_sandbox/faults`, { method: "DELETE" }).catch(() => undefined);
  await hub?.connection.close();
  await raw?.close();
  for (const n of nodes.reverse()) await n.stop();
});

async function couple(): Promise<[Person, Person]> {
  const people = (await json(await post(`${registry}/_sandbox/citizens`, { count: 20, minAge: 30, maxAge: 60 }))) as unknown as Person[];
  return [people.find((p) => p.sex === "MALE")!, people.find((p) => p.sex === "FEMALE")!];
}

const applicants = (...people: Person[]) => people.map((p) => ({ idNumber: p.citizenNo, name: p.fullName }));

/** A workflow's history as Temporal holds it: read with no codec at all. */
async function rawHistory(workflowId: string): Promise<proto.api.history.v1.History> {
  const events: proto.api.history.v1.IHistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await raw.workflowService.getWorkflowExecutionHistory({ namespace: "default", execution: { workflowId }, nextPageToken });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return proto.api.history.v1.History.create({ events });
}

/** Every failure in a message (with its causes). */
function failuresIn(value: unknown): proto.api.failure.v1.IFailure[] {
  if (!value || typeof value !== "object" || value instanceof Uint8Array) return [];
  const o = value as Record<string, unknown>;
  const here = o.failure && typeof o.failure === "object" ? [o.failure as proto.api.failure.v1.IFailure] : [];
  const chain = (f: proto.api.failure.v1.IFailure): proto.api.failure.v1.IFailure[] => (f.cause ? [f.cause, ...chain(f.cause)] : []);
  const causes = here.flatMap(chain);
  return [...here, ...causes, ...Object.values(o).flatMap(failuresIn)];
}

function assertNamesNobody(bytes: Buffer, people: Person[], where: string): void {
  for (const p of people) {
    assert.ok(!bytes.includes(Buffer.from(p.citizenNo)), `${where} holds the id number ${p.citizenNo} in clear`);
    assert.ok(!bytes.includes(Buffer.from(p.fullName)), `${where} holds the name ${p.fullName} in clear`);
  }
}

/** Every payload (but search attributes) encrypted, every failure's message and stack moved into one. */
function assertAllEncrypted(message: object, where: string): Set<string> {
  const found = payloadsIn(message);
  assert.ok(found.length > 0, `${where} has payloads`);
  for (const { at, payload } of found) assert.equal(Buffer.from(payload.metadata!.encoding ?? []).toString(), ENCRYPTED, `${where}${at} is not encrypted`);
  for (const f of failuresIn(message)) {
    assert.equal(f.message, "Encoded failure", `${where}: a failure's message in clear: ${f.message}`);
    assert.ok(!f.stackTrace, `${where}: a failure's stack trace in clear`);
    assert.equal(Buffer.from(f.encodedAttributes!.metadata!.encoding!).toString(), ENCRYPTED);
  }
  return new Set(found.map(({ payload }) => keyIdOf(payload)));
}

const historyBytes = (h: proto.api.history.v1.History) => Buffer.from(proto.api.history.v1.History.encode(h).finish());

test("a marriage linkage: its history, memo and Temporal's database file hold no id number or name in clear", async () => {
  const people = await couple();
  const applicationNo = `PE-MR-${Date.now()}`;
  const res = await post(`${api}/v1/linkages/marriages`, { applicationNo, applicants: applicants(...people), householdAddress: people[1].address });
  assert.equal(res.status, 202);
  const done = await settle(api + res.headers.get("location"));
  assert.equal(done.status, "COMPLETED", JSON.stringify(done));
  const workflowId = `marriage-registration:${applicationNo}`;

  const history = await rawHistory(workflowId);
  assertNamesNobody(historyBytes(history), people, "the raw history");
  assert.deepEqual([...assertAllEncrypted(history, "the raw history")], ["test-2026a"]);
  const described = await raw.workflowService.describeWorkflowExecution({ namespace: "default", execution: { workflowId } });
  assert.ok(Object.keys(described.workflowExecutionInfo?.memo?.fields ?? {}).length >= 2, "the memo: linkage id and progress");
  assertAllEncrypted(described.workflowExecutionInfo!.memo!, "the memo");
  // The hub reads it all back: the partner's status (above) and result, the list's memos, a client with the codec.
  assert.deepEqual(
    ((await hub.workflow.getHandle(workflowId).result()) as { result: { eids: { idNumber: string }[] } }).result.eids.map((e) => e.idNumber),
    [people[0].citizenNo, people[1].citizenNo],
  );
  const listed = await json(await fetch(`${api}/v1/linkages?type=marriage-registration&limit=100`));
  assert.ok(
    (listed.items as { id: string }[]).some((i) => i.id === done.id),
    JSON.stringify(listed),
  );

  // Temporal's own database (the test stack's SQLite file and its write-ahead log).
  const db = path.join(process.env.HUB_DATA_DIR ?? "", "temporal.sqlite");
  if (fs.existsSync(db)) {
    const bytes = Buffer.concat([db, `${db}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
    assert.ok(bytes.includes(Buffer.from(workflowId)), "the file read is the one holding this linkage");
    for (const p of people) assert.ok(!bytes.includes(Buffer.from(p.citizenNo)), `Temporal's database holds ${p.citizenNo} in clear`);
  }

  if (process.env.RECORD_HISTORIES === "1" && !fs.existsSync(path.join(ENCRYPTED_HISTORIES, "marriage-completed.json"))) {
    const temporal = await ensureBinary("temporal", () => {});
    const shown = execFileSync(temporal, ["workflow", "show", "--address", process.env.TEMPORAL_ADDRESS!, "--workflow-id", workflowId, "--output", "json"], {
      encoding: "utf8",
    });
    fs.writeFileSync(path.join(ENCRYPTED_HISTORIES, "marriage-completed.json"), shown);
  }
});

test("an application number holding an identity number is refused: workflow ids are not encrypted", async () => {
  const people = await couple();
  const res = await post(`${api}/v1/linkages/marriages`, { applicationNo: `MR-${people[0].citizenNo}`, applicants: applicants(...people) });
  assert.equal(res.status, 400);
  const problem = await json(res);
  assert.equal(problem.code, "HUB_ERR_REQUEST_INVALID");
  assert.doesNotMatch(JSON.stringify(problem), new RegExp(people[0].citizenNo), "the refusal does not echo it");
  const workflows = await raw.workflowService.countWorkflowExecutions({
    namespace: "default",
    query: `WorkflowId = "marriage-registration:MR-${people[0].citizenNo}"`,
  });
  assert.equal(Number(workflows.count), 0, "no workflow started");
});

test("an activity failing with a message that names a person: ciphertext in the history, read back through the codec", async () => {
  const config = loadConfig({ ...process.env, ...env });
  const [person] = await couple();
  const who = { idNumber: person.citizenNo, name: person.fullName };
  const taskQueue = `refuse-${randomUUID()}`;
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const activities: Refusing = {
    async refuse(p) {
      throw new Error(`no citizen ${p.idNumber} named ${p.name}`);
    },
  };
  const worker = await Worker.create({
    connection,
    taskQueue,
    dataConverter: hubDataConverter(config),
    workflowsPath: require.resolve("../fixtures/failing-activity-workflow"),
    activities,
  });
  const workflowId = `test-refusal:${randomUUID()}`;
  try {
    const err = await worker.runUntil(hub.workflow.execute("refuseOnce", { taskQueue, workflowId, args: [who] }).catch((e: unknown) => e));
    assert.ok(err instanceof WorkflowFailedError);
    assert.match(String((err.cause?.cause as Error | undefined)?.message), new RegExp(`no citizen ${person.citizenNo} named ${person.fullName}`));
  } finally {
    await connection.close();
  }
  const history = await rawHistory(workflowId);
  const failures = failuresIn(history);
  assert.ok(failures.length >= 2, "the activity's failure and the workflow's");
  assertAllEncrypted(history, "the failed workflow's history");
  assertNamesNobody(historyBytes(history), [person], "the failed workflow's history");
});

test("a key rotation with a linkage in flight: its old payloads still decrypt, its new ones use the new key", async () => {
  const before = (JSON.parse(fs.readFileSync(keyFile, "utf8")) as { current: string }).current;
  const people = await couple();
  const applicationNo = `PE-ROT-${Date.now()}`;
  // Each registry call 2.5 s long (of the 5 s it may take): the linkage is still running when the key changes.
  await fetch(`${registry}/_sandbox/faults`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ latencyMs: 2500 }) });
  const res = await post(`${api}/v1/linkages/marriages`, { applicationNo, applicants: applicants(...people), householdAddress: people[0].address });
  const url = api + res.headers.get("location");
  const running = await json(await fetch(url));
  assert.equal(running.status, "RUNNING");

  const cli = await promisify(execFile)(process.execPath, [path.join(ROOT, "bin/linkage-hub.js"), "keys", "rotate", "payload", "--json"], {
    env: { ...process.env, ...env },
  });
  const rotated = JSON.parse(cli.stdout) as { previous: string; current: string; ids: string[] };
  assert.equal(rotated.previous, before);
  assert.notEqual(rotated.current, before);
  assert.equal((await json(await fetch(url))).status, "RUNNING", "rotated while the linkage runs");
  const done = await settle(url, 60_000);
  await fetch(`${registry}/_sandbox/faults`, { method: "DELETE" });
  assert.equal(done.status, "COMPLETED", JSON.stringify(done));

  const events = (await rawHistory(`marriage-registration:${applicationNo}`)).events;
  const keyOf = (
    e: proto.api.history.v1.IHistoryEvent | undefined,
    field: "workflowExecutionStartedEventAttributes" | "workflowExecutionCompletedEventAttributes",
  ) => {
    const attrs = e?.[field] as { input?: { payloads?: Payload[] }; result?: { payloads?: Payload[] } } | undefined;
    return keyIdOf((attrs?.input ?? attrs?.result)!.payloads![0]!);
  };
  assert.equal(keyOf(events[0], "workflowExecutionStartedEventAttributes"), before, "started under the old key");
  assert.equal(keyOf(events.at(-1), "workflowExecutionCompletedEventAttributes"), rotated.current, "completed under the new key");
  assert.deepEqual(assertAllEncrypted({ events }, "the rotated linkage's history"), new Set([before, rotated.current]));
  // Status and list still answer, for it and for linkages that ended before the rotation.
  assert.equal((await json(await fetch(url))).status, "COMPLETED");
  const listed = await fetch(`${api}/v1/linkages?type=marriage-registration&limit=100`);
  assert.equal(listed.status, 200);
  // This file's linkages only: other files' ran under the suite's keys, which this cluster lacks.
  const list = await hub.workflow.list({
    query: `LinkageType = "marriage-registration" AND ExecutionStatus = "Completed" AND WorkflowId STARTS_WITH "marriage-registration:PE-"`,
  });
  for await (const w of list) assert.ok(w.memo && "linkageId" in w.memo, `${w.workflowId}: its memo decrypts`);
  const keys = JSON.parse(
    (
      await promisify(execFile)(process.execPath, [path.join(ROOT, "bin/linkage-hub.js"), "keys", "list", "payload", "--json"], {
        env: { ...process.env, ...env },
      })
    ).stdout,
  ) as {
    current: string;
    ids: string[];
  };
  assert.deepEqual(keys, { source: keyFile, current: rotated.current, ids: [before, rotated.current] });
});

test("a payload under a key the hub lacks: its workflow task fails naming the key id, no garbage decoded", async () => {
  const foreign = hubDataConverter({
    payloadKeys: JSON.stringify({ current: "elsewhere-1", keys: { "elsewhere-1": Buffer.alloc(32, 7).toString("base64") } }),
    dataDir: "",
  });
  const client = new Client({ connection: raw, dataConverter: foreign });
  const workflowId = `marriage-registration:PE-FOREIGN-${Date.now()}`;
  const [him, her] = await couple();
  const handle = await client.workflow.start("marriageRegistration", {
    taskQueue: env.TEMPORAL_TASK_QUEUE!,
    workflowId,
    args: [{ applicationNo: "PE-FOREIGN", applicants: applicants(him, her), linkageId: randomUUID() }],
  });
  try {
    let failed: proto.api.history.v1.IHistoryEvent | undefined;
    for (let i = 0; i < 100 && !failed; i++) {
      failed = (await rawHistory(workflowId)).events.find((e) => e.workflowTaskFailedEventAttributes);
      if (!failed) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(failed, "the hub's worker fails the workflow task");
    const failure = failed.workflowTaskFailedEventAttributes!.failure!;
    // The failure's message travels encoded too (a JSON payload of message and stack, encrypted with the hub's current key).
    const [attributes] = await hub.options.loadedDataConverter.payloadCodecs[0]!.decode([failure.encodedAttributes!]);
    const { message } = JSON.parse(Buffer.from(attributes!.data!).toString()) as { message: string };
    assert.match(message, /key "elsewhere-1".*lack/);
    assert.doesNotMatch(message, new RegExp(him.citizenNo));
    assert.equal(
      (await raw.workflowService.describeWorkflowExecution({ namespace: "default", execution: { workflowId } })).workflowExecutionInfo?.status,
      1,
      "still running, waiting for a node that holds the key",
    );
  } finally {
    await handle.terminate("test over");
  }
});
