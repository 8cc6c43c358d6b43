/**
 * The codec server for operators on the real stack: an operator made with the CLI reads a real
 * marriage linkage's payloads in clear, through the hub's /codec/decode and through the real
 * `temporal` CLI (`--codec-endpoint`, `--codec-auth`); nobody else does, and every decode is
 * in the audit log without the payloads' content.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import path from "node:path";
import { clusterEnv, json, post, settle, startNode, type TestNode } from "../support/hub";
import { rawFetch, suiteDb } from "../support/partner";
import { ensureBinary } from "../../ops/stack/provision";
import { workflowIdOf } from "../../workflows/workflow-ids";

interface Person {
  citizenNo: string;
  fullName: string;
  sex: "MALE" | "FEMALE";
}
interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const ROOT = path.join(__dirname, "../..");
const UI_ORIGIN = `http://127.0.0.1:${process.env.TEMPORAL_UI_PORT}`;
const env = clusterEnv();
const nodes: TestNode[] = [];
let api: string;
let temporalBin: string;
let operator: { name: string; secret: string; authorization: string };
let linkage: { workflowId: string; him: Person; her: Person };

function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, "bin/linkage-hub.js"), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let [stdout, stderr] = ["", ""];
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

function temporal(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(temporalBin, args, { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr })),
  );
}

async function marriage(): Promise<typeof linkage> {
  const people = (await json(await post(`${process.env.CIVIL_REGISTRY_URL}/_sandbox/citizens`, { count: 20, minAge: 30, maxAge: 60 }))) as unknown as Person[];
  const [him, her] = [people.find((p) => p.sex === "MALE")!, people.find((p) => p.sex === "FEMALE")!];
  const applicationNo = `MR-CODEC-${Date.now()}`;
  const res = await post(`${api}/v1/linkages/marriages`, {
    applicationNo,
    applicants: [him, her].map((p) => ({ idNumber: p.citizenNo, name: p.fullName })),
  });
  assert.equal(res.status, 202, JSON.stringify(await res.clone().json()));
  assert.equal((await settle(api + res.headers.get("location"))).status, "COMPLETED");
  return { workflowId: workflowIdOf("marriage-registration", applicationNo), him, her };
}

/** Every payload object in the protobuf JSON of a history (`temporal workflow show --output json`). */
function payloadsIn(value: unknown, found: JsonPayload[] = []): JsonPayload[] {
  if (!value || typeof value !== "object") return found;
  const v = value as JsonPayload;
  if (v.metadata && typeof v.metadata.encoding === "string") return found.concat(v);
  return Object.values(value).reduce<JsonPayload[]>((all, child) => payloadsIn(child, all), found);
}

/** The linkage's history as the temporal CLI shows it (its payloads as Temporal keeps them, or as the codec server decoded them). */
async function history(flags: string[] = []): Promise<{ code: number; payloads: JsonPayload[]; stderr: string }> {
  const shown = await temporal(["workflow", "show", "-w", linkage.workflowId, "--address", process.env.TEMPORAL_ADDRESS!, "--output", "json", ...flags]);
  return { code: shown.code, payloads: shown.code === 0 ? payloadsIn(JSON.parse(shown.stdout)) : [], stderr: shown.stderr };
}

const codec = (endpoint: string, body: unknown, headers: Record<string, string> = {}) =>
  rawFetch(`${api}/codec/${endpoint}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-namespace": "default", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
/** Decodes the codec server refused for want of an operator's credentials, from the gateway's /metrics. */
async function refusals(): Promise<number> {
  const metrics = await (await rawFetch(`${api}/metrics`)).text();
  return Number(/^hub_codec_requests_total\{endpoint="decode",outcome="HUB_ERR_OPERATOR_UNAUTHENTICATED"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
}
const text = (p: JsonPayload) => Buffer.from(p.data ?? "", "base64").toString("utf8");
const encoding = (p: JsonPayload) => Buffer.from(p.metadata?.encoding ?? "", "base64").toString("utf8");

before(async () => {
  nodes.push(await startNode("civil-registry", env), await startNode("linkages,worker", env), await startNode("api", env));
  api = nodes[2]!.url;
  temporalBin = await ensureBinary("temporal", () => {});
  const made = await cli(["operators", "add", `op-${Date.now()}`, "--json"]);
  assert.equal(made.status, 0, made.stdout + made.stderr);
  operator = JSON.parse(made.stdout) as typeof operator;
  linkage = await marriage();
});
after(async () => {
  for (const n of nodes.reverse()) await n.stop();
});

test("an operator decrypts a real linkage's payloads; Temporal holds them encrypted; the decode is audited without their content", async () => {
  const raw = await history();
  assert.equal(raw.code, 0, raw.stderr);
  assert.ok(!raw.payloads.map(text).join("\n").includes(linkage.him.citizenNo), "no id number in Temporal's payloads");
  // Search attributes stay plain (the partner, the linkage type), and carry no personal data.
  const payloads = raw.payloads.filter((p) => encoding(p) === "binary/encrypted");
  assert.ok(payloads.length >= 10, `encrypted payloads in the history: ${payloads.length}`);

  const res = await codec("decode", { payloads }, { authorization: operator.authorization, "x-request-id": `codec-${operator.name}` });
  assert.equal(res.status, 200, await res.clone().text());
  const decoded = ((await res.json()) as { payloads: JsonPayload[] }).payloads;
  assert.equal(decoded.length, payloads.length);
  assert.ok(decoded.every((p) => encoding(p) !== "binary/encrypted"));
  const clear = decoded.map(text).join("\n");
  for (const p of [linkage.him, linkage.her]) assert.ok(clear.includes(p.citizenNo) && clear.includes(p.fullName), "the applicants in clear");

  const db = await suiteDb();
  const [row] = await db.query<{ record: Record<string, unknown> }>("SELECT record FROM hub.audit_record WHERE record->>'requestId' = $1", [
    `codec-${operator.name}`,
  ]);
  assert.ok(row, "the decode is in the audit log");
  assert.deepEqual(
    {
      operation: row.record.operation,
      outcome: row.record.outcome,
      operator: row.record.operator,
      namespace: row.record.namespace,
      payloads: row.record.payloads,
    },
    { operation: "codec.decode", outcome: "OK", operator: operator.name, namespace: "default", payloads: payloads.length },
  );
  assert.ok(!JSON.stringify(row.record).includes(linkage.him.citizenNo));
});

test("encode then decode: the current key, and back to the same payload", async () => {
  const plain = { metadata: { encoding: Buffer.from("json/plain").toString("base64") }, data: Buffer.from('{"hello":"operator"}').toString("base64") };
  const encoded = (await json(await codec("encode", { payloads: [plain] }, { authorization: operator.authorization }))) as { payloads: JsonPayload[] };
  assert.equal(encoding(encoded.payloads[0]!), "binary/encrypted");
  assert.ok(!text(encoded.payloads[0]!).includes("operator"));
  const back = (await json(await codec("decode", encoded, { authorization: operator.authorization }))) as { payloads: JsonPayload[] };
  assert.deepEqual(back.payloads, [plain]);
});

test("the temporal CLI shows the history in clear with the operator's --codec-auth, and ciphertext without the codec", async () => {
  const codecFlags = ["--codec-endpoint", `${api}/codec`];
  const clear = await history([...codecFlags, "--codec-auth", operator.authorization]);
  assert.equal(clear.code, 0, clear.stderr);
  assert.ok(!clear.payloads.some((p) => encoding(p) === "binary/encrypted"), "every payload decoded");
  assert.ok(clear.payloads.map(text).join("\n").includes(linkage.him.citizenNo), "the operator sees the applicants' id numbers");

  const plain = await history();
  assert.ok(
    plain.payloads.some((p) => encoding(p) === "binary/encrypted"),
    "ciphertext without the codec",
  );
  assert.ok(!plain.payloads.map(text).join("\n").includes(linkage.him.citizenNo));

  // The CLI retries a refused decode until its deadline (about 10 s), then fails the command.
  for (const auth of ["Basic " + Buffer.from(`${operator.name}:wrong`).toString("base64"), undefined]) {
    const before = await refusals();
    const refused = await history(auth ? [...codecFlags, "--codec-auth", auth] : codecFlags);
    assert.notEqual(refused.code, 0, "the codec's refusal fails the command");
    assert.ok((await refusals()) > before, "the hub refused the CLI's decode");
  }
});

test("refused: no credentials, a wrong secret, an unknown key id, an oversized or malformed request", async () => {
  const payloads = (await history()).payloads.filter((p) => encoding(p) === "binary/encrypted").slice(0, 2);
  const none = await codec("decode", { payloads });
  assert.equal(none.status, 401);
  assert.match(none.headers.get("www-authenticate") ?? "", /^Basic realm=/);
  assert.equal(none.headers.get("content-type"), "application/problem+json");
  assert.equal((await json(none)).code, "HUB_ERR_OPERATOR_UNAUTHENTICATED");

  const wrong = await codec("decode", { payloads }, { authorization: "Basic " + Buffer.from(`${operator.name}:not-the-secret`).toString("base64") });
  assert.equal(wrong.status, 401);
  assert.ok(!(await wrong.text()).includes(linkage.him.citizenNo));

  const foreign = { ...payloads[1]!, metadata: { ...payloads[1]!.metadata, "encryption-key-id": Buffer.from("k-elsewhere").toString("base64") } };
  const unknownKey = await codec("decode", { payloads: [payloads[0], foreign] }, { authorization: operator.authorization });
  assert.equal(unknownKey.status, 400);
  const problem = await json(unknownKey);
  assert.equal(problem.code, "HUB_ERR_CODEC_KEY_UNKNOWN");
  assert.match(String(problem.detail), /k-elsewhere/);
  assert.ok(!JSON.stringify(problem).includes(linkage.him.citizenNo), "nothing decrypted");

  const big = { payloads: [{ metadata: {}, data: Buffer.alloc(4 * 1024 * 1024 + 1024).toString("base64") }] };
  const tooLarge = await codec("decode", big, { authorization: operator.authorization });
  assert.equal(tooLarge.status, 413);
  assert.equal((await json(tooLarge)).code, "HUB_ERR_REQUEST_TOO_LARGE");

  const malformed = await codec("decode", '{"payloads": [', { authorization: operator.authorization });
  assert.equal(malformed.status, 400);
  assert.equal((await json(malformed)).code, "HUB_ERR_REQUEST_MALFORMED");
});

test("CORS: the Temporal UI's origin may call with credentials, another origin is refused", async () => {
  const preflight = (origin: string) =>
    rawFetch(`${api}/codec/decode`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,x-namespace,authorization" },
    });
  const ui = await preflight(UI_ORIGIN);
  assert.equal(ui.status, 204);
  assert.equal(ui.headers.get("access-control-allow-origin"), UI_ORIGIN);
  assert.equal(ui.headers.get("access-control-allow-credentials"), "true");
  assert.match(ui.headers.get("access-control-allow-headers") ?? "", /X-Namespace.*Content-Type.*Authorization/);

  const evil = await preflight("http://evil.example");
  assert.equal(evil.status, 403);
  assert.equal(evil.headers.get("access-control-allow-origin"), null);
  const post = await codec("decode", { payloads: [] }, { authorization: operator.authorization, origin: "http://evil.example" });
  assert.equal(post.status, 403);
  assert.equal((await json(post)).code, "HUB_ERR_CODEC_ORIGIN");

  const fromUi = await codec("decode", { payloads: [] }, { authorization: operator.authorization, origin: UI_ORIGIN });
  assert.equal(fromUi.status, 200);
  assert.equal(fromUi.headers.get("access-control-allow-origin"), UI_ORIGIN);
});

test("operators list and remove: a removed operator is refused at once", async () => {
  const listed = await cli(["operators", "list", "--json"]);
  assert.ok(
    (JSON.parse(listed.stdout) as { name: string }[]).some((o) => o.name === operator.name),
    listed.stdout + listed.stderr,
  );
  assert.equal((await codec("decode", { payloads: [] }, { authorization: operator.authorization })).status, 200);
  const removed = await cli(["operators", "remove", operator.name]);
  assert.equal(removed.status, 0, removed.stderr);
  const afterRemoval = await codec("decode", { payloads: [] }, { authorization: operator.authorization });
  assert.equal(afterRemoval.status, 401);
});
