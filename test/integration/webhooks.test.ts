/**
 * Webhooks from outside: a partner's receiver that fails its first three deliveries gets
 * the linkage's end on the fourth, once, signed as Standard Webhooks specifies (checked with
 * the `standardwebhooks` library, not the hub's code); the CLI shows and resends it.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { clusterEnv, freePort, seedCitizens, startNode, type TestNode } from "../support/hub";
import { rawFetch, suiteDb } from "../support/partner";
import { addPartner } from "../../partners/registry";
import { issueToken } from "../../partners/tokens";
import { PURPOSES, SCOPES } from "../../partners/vocabulary";
import { loadConfig } from "../../platform/config";

const ROOT = path.resolve(__dirname, "../..");
const env = { ...clusterEnv(), HUB_WEBHOOK_BACKOFF_MS: "300,300,300,300,300" };
let hub: TestNode;
let receiver: http.Server;
let receiverUrl: string;
const received: { headers: http.IncomingHttpHeaders; body: string; answered: number }[] = [];

before(async () => {
  const port = await freePort();
  receiver = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => (body += d));
    req.on("end", () => {
      // The first three deliveries fail; later ones are acknowledged.
      const answered = received.length < 3 ? 500 : 204;
      received.push({ headers: req.headers, body, answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(port, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${port}/hooks/linkages`;
  hub = await startNode("all", env);
});
after(async () => {
  await hub?.stop();
  receiver?.close();
});

const cli = (...args: string[]) =>
  execFileSync(process.execPath, ["--import", "tsx", "ops/cli/main.ts", ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: "utf8" });

test("a receiver failing three times gets the linkage's end on the fourth delivery, once, with a signature it verifies", async () => {
  const made = await addPartner(await suiteDb(), {
    id: `hooked-${randomUUID().slice(0, 8)}`,
    scopes: [...SCOPES],
    purposes: [...PURPOSES],
    webhookUrl: receiverUrl,
  });
  assert.match(made.webhookSecret!, /^whsec_/);
  const { access_token } = await issueToken(await suiteDb(), loadConfig({}), { partnerId: made.partner.id, scopes: [...SCOPES] });
  const [citizen] = await seedCitizens(1);
  const started = await rawFetch(`${hub.url}/v1/linkages/eid-issuances`, {
    method: "POST",
    headers: { authorization: `Bearer ${access_token}`, "data-purpose": "civil-registration", "content-type": "application/json" },
    body: JSON.stringify({ applicationNo: `HOOK-${Date.now()}`, idNumber: citizen!.citizenNo, name: citizen!.fullName }),
  });
  assert.equal(started.status, 202);
  const linkageId = ((await started.json()) as { id: string }).id;

  for (let i = 0; i < 200 && received.length < 4; i++) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1500)); // nothing more comes once acknowledged
  assert.deepEqual(
    received.map((r) => r.answered),
    [500, 500, 500, 204],
  );

  const wh = new Webhook(made.webhookSecret!);
  const ids = new Set<string>();
  for (const delivery of received) {
    const event = wh.verify(delivery.body, delivery.headers as Record<string, string>) as {
      id: string;
      type: string;
      partnerid: string;
      data: Record<string, unknown>;
    };
    assert.equal(event.type, "linkages.linkage.ended");
    assert.equal(event.partnerid, made.partner.id);
    assert.deepEqual([event.data.linkageId, event.data.linkageType, event.data.status], [linkageId, "eid-issuance", "COMPLETED"]);
    ids.add(String(delivery.headers["webhook-id"]));
  }
  assert.equal(ids.size, 1, "one event, delivered until acknowledged");
  // A forged or replayed-late delivery fails the same check.
  const last = received[3]!;
  assert.throws(() => wh.verify(last.body.replace("COMPLETED", "REFUSED"), last.headers as Record<string, string>));
  assert.throws(() => wh.verify(last.body, { ...(last.headers as Record<string, string>), "webhook-timestamp": String(Math.floor(Date.now() / 1000) - 3600) }));

  // The CLI shows the delivery and sends it again on request.
  const [listed] = JSON.parse(cli("webhooks", "list", "--partner", made.partner.id, "--json")) as {
    eventId: string;
    attempts: number;
    lastStatus: number;
    deliveredAt: string | null;
  }[];
  assert.deepEqual([listed!.eventId, listed!.attempts, listed!.lastStatus, Boolean(listed!.deliveredAt)], [[...ids][0], 4, 204, true]);
  cli("webhooks", "redeliver", listed!.eventId);
  for (let i = 0; i < 100 && received.length < 5; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(received.length, 5);
  assert.equal(received[4]!.headers["webhook-id"], listed!.eventId, "the same event id, so the receiver can tell it has it");
});
