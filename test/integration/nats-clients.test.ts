/**
 * Issue 18's acceptance from outside the hub: clients that are not Moleculer (a plain nats.js
 * connection, nats-py in its venv, natscli v0.5.0, and the examples in docs/examples/nats/ in
 * Python, Go and shell) find the service `linkage-hub` with $SRV.INFO / `nats micro ls`,
 * verify an identity over `hub.v1.civil-registry.identity.verify`, read EVENTS as a durable
 * consumer named as their user, and are refused in each case the issue lists: by the server
 * (no credentials, a subject outside their permissions), by the client (over max_payload), by
 * the absent responder, or by the hub with the REST problem.
 *
 * Each NATS user is made as an operator makes one (`npx linkage-hub nats add-user`), on the
 * suite's NATS and with the harness's own credentials (NATS_CREDS) for everything else.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureBinary } from "../../ops/stack/provision";
import { ensureNatsPy } from "../../ops/stack/python-tools";
import { loadConfig } from "../../platform/config";
import { connectBus, type EventBus } from "../../platform/events/bus";
import { createEvent } from "../../platform/events/envelope";
import { issueToken } from "../../partners/tokens";
import { addPartner } from "../../partners/registry";
import { SCOPES } from "../../partners/vocabulary";
import { clusterEnv, seedCitizens, startNode, type Citizen, type TestNode } from "../support/hub";
import { ensureTestPartner, rawFetch, suiteDb, suiteToken, TEST_PARTNER } from "../support/partner";
import { addNatsUser, EXAMPLES, maxPayload, plainClient, pythonClient, ROOT, run, type Case, type Outcome } from "../support/nats-clients";

const VERIFY = "hub.v1.civil-registry.identity.verify";
const SERVER = process.env.NATS_URL!;
const CONTRACT_VERSION = /^info:\n(?:.*\n)*? {2}version: (\S+)/m.exec(fs.readFileSync(path.join(ROOT, "contracts/openapi.yaml"), "utf8"))![1]!;
const say = (line: string) => console.log(`[nats-clients] ${line}`);
const unique = (role: string) => `${role}-${randomBytes(3).toString("hex")}`;

const env = clusterEnv();
let hub: TestNode;
let natsCli: string;
let python: string;
let citizen: Citizen;
let bus: EventBus | undefined;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "nats-clients-"));

/** What the examples need to reach the hub: its gateway for the token, the documented test partner. */
const exampleEnv = (creds: string) => ({
  NATS_URL: SERVER,
  NATS_CREDS: creds,
  HUB_URL: hub.url,
  HUB_CLIENT_ID: TEST_PARTNER.id,
  HUB_CLIENT_SECRET: TEST_PARTNER.secret,
  PATH: `${path.dirname(natsCli)}${path.delimiter}${process.env.PATH}`,
});

async function ok(what: string, command: string, args: string[], options: Parameters<typeof run>[2] = {}): Promise<string> {
  const done = await run(command, args, options);
  say(`${what}: exit ${done.code}\n${done.output}`);
  assert.equal(done.code, 0, `${what} failed (exit ${done.code}):\n${done.output}`);
  return done.output;
}

/** Fails at once, saying why, when the hub's NATS service does not answer (issue 18 item 1). */
async function serviceAnswers(): Promise<void> {
  const [info] = await plainClient({ server: SERVER, creds: process.env.NATS_CREDS || undefined }, [
    { case: "info", kind: "request", subject: "$SRV.INFO.linkage-hub" },
  ]);
  assert.equal(
    info!.outcome,
    "ok",
    `no NATS service linkage-hub answers $SRV.INFO on ${SERVER} (${info!.outcome}): the hub's NATS endpoints (issue 18 item 1) are missing`,
  );
}

before(async () => {
  [natsCli, python] = await Promise.all([ensureBinary("nats", say), ensureNatsPy(say)]);
  hub = await startNode("api,civil-registry", env); // A's NATS endpoints answer with the gateway; verify needs the registry

  await ensureTestPartner();
  citizen = (await seedCitizens(1))[0]!;
});

after(async () => {
  await bus?.close();
  await hub?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe("the client tools", () => {
  test("natscli v0.5.0 and nats-py reach the suite's NATS with the harness's credentials", async () => {
    assert.match(await ok("nats --version", natsCli, ["--version"]), /^v0\.5\.0$/m);
    assert.match(await ok("nats rtt", natsCli, ["rtt", "--server", SERVER]), /\d+(\.\d+)?(µs|ms|s)/);
    const [reached] = await pythonClient(python, { server: SERVER, creds: process.env.NATS_CREDS || undefined }, [
      { case: "reach", kind: "subscribe", subject: "_INBOX.nats-clients-test" },
    ]);
    assert.equal(reached!.outcome, "accepted", JSON.stringify(reached));
  });
});

describe("find the service, verify an identity, read events: the examples in docs/examples/nats/", { timeout: 600_000 }, () => {
  let caller: string;
  let goClient: string | undefined;

  before(async () => {
    caller = await addNatsUser(unique("caller"), "caller");
    await serviceAnswers();
  });

  test("Python: $SRV.INFO names the service, its version and the verify endpoint with its schemas", async () => {
    const out = await ok("hub_client.py find", python, [path.join(EXAMPLES, "python/hub_client.py"), "find"], { env: exampleEnv(caller) });
    assert.match(out, new RegExp(`^service linkage-hub ${CONTRACT_VERSION.replace(/\./g, "\\.")} \\(\\d+ endpoints\\)$`, "m"));
    const line = out.split("\n").find((l) => l.trim().startsWith(`${VERIFY} `));
    assert.ok(line, `no endpoint on ${VERIFY}:\n${out}`);
    assert.match(line, /IdentityVerificationRequest|"request"/, "its metadata names the request schema");
  });

  test("natscli: `nats micro ls` lists linkage-hub; `nats micro info` shows the verify endpoint", async () => {
    const ls = await ok("nats micro ls", natsCli, ["micro", "ls", "--creds", caller, "--inbox-prefix", `_INBOX_${path.basename(caller, ".creds")}`], {
      env: { NATS_URL: SERVER },
    });
    assert.match(ls, new RegExp(`linkage-hub\\s*│\\s*${CONTRACT_VERSION.replace(/\./g, "\\.")}`));
    const script = await ok("nats-cli.sh find", path.join(EXAMPLES, "nats-cli.sh"), ["find"], { env: exampleEnv(caller) });
    assert.match(script, /Service: linkage-hub/);
    assert.match(script, new RegExp(`Subject: ${VERIFY.replace(/\./g, "\\.")}`));
  });

  test("Python, natscli and Go verify an identity with the partner's token and purpose", async () => {
    const py = await ok("hub_client.py verify", python, [path.join(EXAMPLES, "python/hub_client.py"), "verify", citizen.citizenNo, citizen.fullName], {
      env: exampleEnv(caller),
    });
    assert.deepEqual(JSON.parse(py.trim().split("\n").at(-1)!), { match: true });
    const wrong = await ok(
      "hub_client.py verify (another name)",
      python,
      [path.join(EXAMPLES, "python/hub_client.py"), "verify", citizen.citizenNo, "Nobody Atall"],
      {
        env: exampleEnv(caller),
      },
    );
    assert.deepEqual(JSON.parse(wrong.trim().split("\n").at(-1)!), { match: false });
    const cli = await ok("nats-cli.sh verify", path.join(EXAMPLES, "nats-cli.sh"), ["verify", citizen.citizenNo, citizen.fullName], {
      env: exampleEnv(caller),
    });
    assert.match(cli, /\{"match":true\}/);
    goClient = await buildGoExample();
    const go = await ok("go example verify", goClient, ["verify", citizen.citizenNo, citizen.fullName], { env: exampleEnv(caller) });
    assert.deepEqual(JSON.parse(go.trim()), { match: true });
    const found = await ok("go example find", goClient, ["find"], { env: exampleEnv(caller) });
    assert.match(found, new RegExp(`^ {2}${VERIFY.replace(/\./g, "\\.")} `, "m"));
  });

  test("each reads EVENTS as a durable consumer named as its user, and goes on where it stopped", async () => {
    bus = await connectBus(SERVER, "nats-clients-test");
    const event = createEvent(
      "linkages.linkage.started",
      { linkageId: randomUUID(), linkageType: "eid-issuance", businessKey: randomUUID() },
      { source: "test" },
    );
    // On subjects of this test's own, so each reader reads a few events, not the suite's thousands.
    const subjects = `events.nats-clients-${randomUUID().slice(0, 8)}`;
    await bus.publish(event, `${subjects}.started`);
    // What a consumer may meet on the stream that is not a CloudEvent: told and passed, not a crash.
    const garbage = await bus.js.publish(`${subjects}.garbage`, new TextEncoder().encode("not json"));
    const readers: [string, (creds: string) => Promise<string>][] = [
      [
        "python",
        (creds) =>
          ok("hub_client.py events", python, [path.join(EXAMPLES, "python/hub_client.py"), "events", "--max", "100", "--subject", `${subjects}.>`], {
            env: exampleEnv(creds),
          }),
      ],
      ["cli", (creds) => ok("nats-cli.sh events", path.join(EXAMPLES, "nats-cli.sh"), ["events", "100", `${subjects}.>`], { env: exampleEnv(creds) })],
      ["go", async (creds) => ok("go example events", goClient ?? (await buildGoExample()), ["events", "100", `${subjects}.>`], { env: exampleEnv(creds) })],
    ];
    for (const [language, read] of readers) {
      const consumer = await addNatsUser(unique(`consumer-${language}`), "consumer");
      const name = path.basename(consumer, ".creds");
      const first = await read(consumer);
      assert.ok(first.includes(event.id), `${language}: the event published before the consumer existed was not read:\n${first}`);
      assert.match(first, new RegExp(`read 2 events as durable consumer ${name} on EVENTS`));
      if (language !== "cli") assert.match(first, new RegExp(`event ${garbage.seq} is not JSON \\(8 bytes\\): terminated`), language);
      const again = await read(consumer);
      assert.ok(!again.includes(event.id), `${language}: read again after it was acknowledged`);
      assert.match(again, new RegExp(`read 0 events as durable consumer ${name} on EVENTS`));
    }
  });
});

/** `go build` of the Go example (module cache and build cache make it quick after the first time). */
async function buildGoExample(): Promise<string> {
  const out = path.join(scratch, "hub-client-go");
  if (!fs.existsSync(out))
    await ok("go build (docs/examples/nats/go)", "go", ["build", "-o", out, "."], { cwd: path.join(EXAMPLES, "go"), env: { GOFLAGS: "-buildvcs=false" } });
  return out;
}

describe("refusals, the same for a plain nats.js client and nats-py", { timeout: 300_000 }, () => {
  let callerName: string;
  let caller: string;
  let good: Record<string, string>;
  let expired: string;
  let narrow: string;

  before(async () => {
    callerName = unique("caller");
    caller = await addNatsUser(callerName, "caller");
    await serviceAnswers();
    const token = await suiteToken();
    good = { Authorization: `Bearer ${token}`, "Data-Purpose": "identity-verification" };
    const { access_token } = await issueToken(await suiteDb(), { ...loadConfig({}), tokenTtlS: 1 }, { partnerId: "suite-partner", scopes: [...SCOPES] });
    expired = access_token;
    // A partner granted another purpose only: identity-verification is not a legal basis it has.
    const { partner } = await addPartner(await suiteDb(), { id: unique("narrow"), scopes: [...SCOPES], purposes: ["emergency-response"] });
    narrow = (await issueToken(await suiteDb(), loadConfig({}), { partnerId: partner.id, scopes: [...SCOPES] })).access_token;
    await new Promise((r) => setTimeout(r, 2100)); // past its expiry: what is checked is the refusal, not a duration
  });

  /** Both clients try `cases`; each outcome must be as expected, and the same in both. */
  async function bothRefuse(options: { creds?: string; inboxPrefix?: string }, cases: (Case & { expect: string })[]): Promise<Outcome[]> {
    const client = { server: SERVER, ...options };
    const [plain, py] = [await plainClient(client, cases), await pythonClient(python, client, cases)];
    for (const [name, outcomes] of [
      ["nats.js", plain],
      ["nats-py", py],
    ] as const)
      for (const [i, c] of cases.entries()) assert.equal(outcomes[i]!.outcome, c.expect, `${name}, ${c.case}: ${JSON.stringify(outcomes[i])}`);
    return plain;
  }

  test("no credentials: the connection is refused", async () => {
    await bothRefuse({}, [{ case: "no credentials", kind: "publish", subject: "hub.v1.anything", expect: "connect-refused" }]);
  });

  test("a caller publishing to events.>, a Moleculer subject or another caller's inbox is refused by the server", async () => {
    const other = `_INBOX_${unique("caller")}`;
    await bothRefuse({ creds: caller, inboxPrefix: `_INBOX_${callerName}` }, [
      { case: "publish an event", kind: "publish", subject: "events.linkages.linkage.started", expect: "permission-violation" },
      { case: "a Moleculer subject", kind: "publish", subject: `MOL-${env.HUB_NAMESPACE}.DISCOVER`, expect: "permission-violation" },
      { case: "publish to another caller's inbox", kind: "publish", subject: `${other}.x`, expect: "permission-violation" },
      { case: "listen on another caller's inbox", kind: "subscribe", subject: `${other}.>`, expect: "permission-violation" },
      { case: "its own inbox", kind: "subscribe", subject: `_INBOX_${callerName}.mine`, expect: "accepted" },
    ]);
  });

  test("the REST problems over NATS: no token, expired token, wrong purpose, bad params (same pointers), too large; no endpoint: no responders", async () => {
    const bad = { idNumber: "not-a-number", name: 42 };
    const rest = await rawFetch(`${hub.url}/v1/identity-verifications`, {
      method: "POST",
      headers: { authorization: good.Authorization!, "data-purpose": "identity-verification", "content-type": "application/json" },
      body: JSON.stringify(bad),
    });
    assert.equal(rest.status, 400);
    const restPointers = ((await rest.json()) as { errors?: { pointer: string }[] }).errors?.map((e) => e.pointer).sort();
    const limit = await maxPayload({ server: SERVER, creds: caller });
    const valid = { idNumber: citizen.citizenNo, name: citizen.fullName }; // so that only what is tested is wrong
    const plain = await bothRefuse({ creds: caller, inboxPrefix: `_INBOX_${callerName}` }, [
      { case: "passes", kind: "request", subject: VERIFY, headers: good, body: valid, expect: "ok" },
      { case: "no token", kind: "request", subject: VERIFY, headers: { "Data-Purpose": "identity-verification" }, body: valid, expect: "error 401" },
      { case: "expired token", kind: "request", subject: VERIFY, headers: { ...good, Authorization: `Bearer ${expired}` }, body: valid, expect: "error 401" },
      { case: "wrong purpose", kind: "request", subject: VERIFY, headers: { ...good, Authorization: `Bearer ${narrow}` }, body: valid, expect: "error 403" },
      { case: "no purpose", kind: "request", subject: VERIFY, headers: { Authorization: good.Authorization! }, body: valid, expect: "error 403" },
      { case: "bad params", kind: "request", subject: VERIFY, headers: good, body: bad, expect: "error 400" },
      { case: "over the hub's body limit (64 KiB)", kind: "request", subject: VERIFY, headers: good, bodyBytes: 100 * 1024, expect: "error 413" },
      { case: `over the server's max_payload (${limit} bytes)`, kind: "request", subject: VERIFY, headers: good, bodyBytes: limit + 1, expect: "max-payload" },
      { case: "no such endpoint", kind: "request", subject: "hub.v1.no-such.operation", headers: good, body: {}, expect: "no-responders" },
    ]);
    assert.deepEqual(plain[0]!.body, { match: true });
    const overNats = (plain[5]!.body as { errors?: { pointer: string }[] }).errors?.map((e) => e.pointer).sort();
    assert.deepEqual(overNats, restPointers, "the same pointers as REST");
    assert.match(JSON.stringify(plain[3]!.body), /identity-verification is not a legal basis granted/, "the problem names the purpose");
  });

  test("a device publishes on its own counts subjects only", async () => {
    const device = unique("device");
    const creds = await addNatsUser(device, "device", ["--subjects", `counts.${device}`]);
    await bothRefuse({ creds, inboxPrefix: `_INBOX_${device}` }, [
      { case: "its own counts", kind: "publish", subject: `counts.${device}`, expect: "accepted" },
      { case: "another device's counts", kind: "publish", subject: `counts.${unique("device")}`, expect: "permission-violation" },
      { case: "an event", kind: "publish", subject: "events.linkages.linkage.started", expect: "permission-violation" },
      { case: "the hub's service", kind: "publish", subject: VERIFY, expect: "permission-violation" },
    ]);
  });
});
