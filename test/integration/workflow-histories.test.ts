/**
 * Determinism guard: the recorded histories of every workflow path (workflows/histories/)
 * replay against today's workflow code, so a change that would break running linkages fails
 * here. Changes that must alter running workflows go behind `patched()`.
 *
 * Record anew (after a deliberate, patched change, or for a new path):
 *   RECORD_HISTORIES=1 npm test -- test/integration/workflow-histories.test.ts
 * records the paths that have no file yet (delete a file to record it again).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { historyFromJSON } from "@temporalio/common/lib/proto-utils";
import { ensureBinary } from "../../ops/stack/provision";
import { Worker } from "@temporalio/worker";
import type { DataConverter } from "@temporalio/common";
import { ENCRYPTED, hubDataConverter } from "../../platform/payload-codec";
import type { ServiceBroker } from "moleculer";
import { callerBroker, clusterEnv, json, post, seedCitizens, settle, startNode, type TestNode } from "../support/hub";
import { nameBasedUuid } from "../../platform/ids";
import { freshCode, granted, registered } from "../support/catalogue";
import { suiteDb } from "../support/partner";
import { ADDRESS_BOOK_DOCUMENT, startAddressBook, type AddressBook } from "../support/address-book";
import { hubLinkageSubsystem } from "../../catalogue/linkage-client";
import { connectBus } from "../../platform/events/bus";
import { createEvent } from "../../platform/events/envelope";

interface Person {
  citizenNo: string;
  fullName: string;
  sex: string;
  address: { province: string; city: string; district: string; street: string; postcode: string };
}

const DIR = path.join(__dirname, "../../workflows/histories");
const WORKFLOWS = require.resolve("../../workflows/linkages");

/** Replays `files` (in DIR); with a `dataConverter`, as the hub's worker converts (the payload codec). */
async function replay(workflowsPath: string, files: string[], dataConverter?: DataConverter): Promise<{ file: string; error?: Error }[]> {
  const histories = files.map((file) => ({ workflowId: file, history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, file), "utf8"))) }));
  const results: { file: string; error?: Error }[] = [];
  for await (const r of Worker.runReplayHistories({ workflowsPath, replayName: "determinism-guard", dataConverter }, histories))
    results.push({ file: r.workflowId, error: r.error });
  return results;
}

const recorded = () => fs.readdirSync(DIR).filter((f) => f.endsWith(".json"));

if (process.env.RECORD_HISTORIES === "1") {
  const nodes: TestNode[] = [];
  let broker: ServiceBroker;
  let api: string;
  const env: NodeJS.ProcessEnv = {
    ...clusterEnv(),
    LINKAGE_NOTIFY_RETRY_MS: "1000",
    PERMIT_DOCUMENT_DEADLINE_MS: "4000",
    DISPATCH_DEADLINE_MS: "1500",
    DISPATCH_CLEAR_AFTER_MS: "1000",
    DISPATCH_POLL_MS: "200",
  };
  const books: AddressBook[] = [];
  /** No address-change service but the path's own takes part. */
  const forgetAddressBooks = async () => (await suiteDb()).query(`DELETE FROM hub.catalogue_service WHERE methods @> '[{"linkage": "address-change"}]'`);
  before(async () => {
    nodes.push(await startNode("civil-registry,emergency,utilities", env), await startNode("linkages,worker", env), await startNode("api", env));
    api = nodes[2]!.url;
    broker = await callerBroker(env.HUB_NAMESPACE!, ["civil-registry", "linkages"]);
  });
  after(async () => {
    await forgetAddressBooks();
    for (const b of books) await b.close();
    await broker.stop();
    for (const n of nodes.reverse()) await n.stop();
  });

  test("record one history per workflow path (those not recorded yet)", async () => {
    const registry = process.env.CIVIL_REGISTRY_URL!;
    const utilities = process.env.UTILITIES_URL!;
    const [a, b] = await seedCitizens(2);
    const people = (await json(await post(`${registry}/_sandbox/citizens`, { count: 20, minAge: 30, maxAge: 60 }))) as unknown as Person[];
    const [m1, m2, m3] = people.filter((p) => p.sex === "MALE");
    const [f1, f2, f3] = people.filter((p) => p.sex === "FEMALE");
    const who = (p: { citizenNo: string; fullName: string }) => ({ idNumber: p.citizenNo, name: p.fullName });
    const stamp = Date.now();
    const linkage = async (route: string, body: object) => api + (await post(`${api}/v1/linkages/${route}`, body)).headers.get("location");
    const stepIs = async (url: string, step: string) => {
      while ((await json(await fetch(url))).currentStep !== step) await new Promise((r) => setTimeout(r, 50));
    };
    /** A holder of gas, power and water at a street of its own; the address. */
    const premise = async (tag: string) => {
      const [h] = (await seedCitizens(1)) as unknown as Person[];
      const address = { ...h!.address, street: `历史路${stamp}${tag}号` };
      await post(`${utilities}/_sandbox/accounts`, { holders: [{ idNumber: h!.citizenNo, name: h!.fullName, address }] });
      return address;
    };
    const gasLeak = async (tag: string) => {
      const where = await premise(tag);
      const xml = fs
        .readFileSync(path.join(__dirname, "../../adapters/emergency/fixtures/gas-leak-alert.xml"), "utf8")
        .replace(/FD-SH-2026-001187/g, `FD-HIST-${stamp}-${tag}`)
        .replace(/漕溪北路 88 号(?=<\/value>)/g, where.street)
        .replace(/<value>200030<\/value>/g, `<value>${where.postcode}</value>`);
      await fetch(`${api}/v1/incidents`, { method: "POST", headers: { "content-type": "application/cap+xml" }, body: xml });
      const id = `incident-utilities:dispatch@fire.shanghai.example,FD-HIST-${stamp}-${tag}`;
      const url = `${api}/v1/linkages/${nameBasedUuid(id)}`;
      while ((await fetch(url)).status === 404) await new Promise((r) => setTimeout(r, 50));
      await stepIs(url, "await-all-clear");
      return { id, url };
    };
    const move = async (to: object, mover: Person) => {
      const change = await broker.call<{ changeNo: string }, object>("civil-registry.household.change-address", {
        idNumbers: [mover.citizenNo],
        address: to,
        idempotencyKey: `hist-${stamp}-${mover.citizenNo}`,
      });
      // An event's linkage has no partner: settled over NATS, as no partner may read it.
      return { id: `resident-relocation:${change.changeNo}`, url: "" };
    };
    /** An address change told to address books of the path's own (granted unless said); settled over NATS, as it has no partner. */
    const notify = async (kinds: { failFirst?: number; granted?: boolean }[]) => {
      await forgetAddressBooks();
      for (const kind of kinds) {
        const book = await startAddressBook(kind);
        books.push(book);
        const service = await registered(api, { code: freshCode("hist"), baseUrl: book.url, openapi: ADDRESS_BOOK_DOCUMENT("History") });
        if (kind.granted !== false) await granted(api, hubLinkageSubsystem("LOCAL"), service, ["civil-registration"]);
      }
      const [mover] = (await seedCitizens(1)) as unknown as Person[];
      const change = await broker.call<{ changeNo: string }, object>("civil-registry.household.change-address", {
        idNumbers: [mover!.citizenNo],
        address: { ...mover!.address, street: `通知历史路${stamp}号` },
        idempotencyKey: `hist-notify-${stamp}-${mover!.citizenNo}`,
      });
      return { id: `address-change-notification:${change.changeNo}`, url: "" };
    };
    const settledOverNats = async (workflowId: string) => {
      for (;;) {
        const linkage = await broker.call<{ status: string }, object>("linkages.status.get", { id: nameBasedUuid(workflowId) }).catch(() => undefined);
        if (linkage && linkage.status !== "RUNNING") return linkage;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const faults = (body: object) =>
      fetch(`${registry}/_sandbox/faults`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

    /** An event permit application at the venue for those hours (`soon`: an event of a few seconds, whose key place closes with it; `far`: hours far ahead). */
    const permit = async (tag: string, venueId: string, hours: { start: string; end: string }) => {
      const applicationNo = `HIST-EP-${tag}-${stamp}`;
      const url = await linkage("event-permits", {
        applicationNo,
        eventName: "Recorded event",
        venueId,
        ...hours,
        expectedAttendance: 1000,
        organiser: { name: "Recorder", email: "recorder@events.example" },
        securityPlan: "https://docs.events.example/plan.pdf",
      });
      return { id: `event-permit:${applicationNo}`, url };
    };
    const soon = (startS: number, endS: number) => ({
      start: new Date(Date.now() + startS * 1000).toISOString(),
      end: new Date(Date.now() + endS * 1000).toISOString(),
    });
    // Far-future hours of this recording alone (an hour on for every millisecond of the stamp, modulo a million).
    const far = (k: number) => {
      const start = Date.UTC(2200, 0, 1) + (stamp % 1_000_000) * 3_600_000 + k * 10_800_000;
      return { start: new Date(start).toISOString(), end: new Date(start + 7_200_000).toISOString() };
    };
    const permitStatus = async (url: string, done: (p: { status?: string }) => boolean) => {
      for (;;) {
        const l = await json(await fetch(url));
        if (done((l.permit ?? {}) as { status?: string })) return l;
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    /** A key place at public security for the next hour; its crowd critical, then (once `ready`) below warning: the dispatch linkage's workflow id. */
    const police = process.env.PUBLIC_SECURITY_URL!;
    const dispatching = (mode: object | null) =>
      fetch(`${police}/_sandbox/dispatching`, {
        method: mode ? "PUT" : "DELETE",
        headers: { "content-type": "application/json" },
        ...(mode ? { body: JSON.stringify(mode) } : {}),
      });
    const crowded = async (tag: string, ready: (url: string) => Promise<void> = async () => {}) => {
      const area = {
        type: "Polygon",
        coordinates: [
          [
            [121.49, 31.23],
            [121.491, 31.23],
            [121.491, 31.231],
            [121.49, 31.23],
          ],
        ],
      };
      const hours = { opensAt: new Date(Date.now() - 60_000).toISOString(), closesAt: new Date(Date.now() + 3_600_000).toISOString() };
      const body = { reference: `HIST-CROWD-${tag}-${stamp}`, kind: "event", name: "Recorded crowd", venueId: "VEN-0004", capacity: 1000, area, ...hours };
      const placeId = String((await json(await post(`${police}/key-places`, body, { "idempotency-key": `hist-crowd-${tag}-${stamp}` }))).placeId);
      const bus = await connectBus(process.env.NATS_URL!, "histories");
      try {
        const level = async (level: string, previousLevel: string, count: number) => {
          const at = new Date().toISOString();
          const data = { placeId, level, previousLevel, count, capacity: 1000, occupancy: count / 1000, at };
          await bus.publish(createEvent("crowd.level.changed", data, { source: "crowd-watch", subject: placeId }));
          return at;
        };
        const id = `dispatch:${placeId}:${await level("critical", "warning", 1100)}`;
        const url = `${api}/v1/linkages/${nameBasedUuid(id)}`;
        await ready(url);
        const step = async (name: string) => {
          for (;;) {
            const l = await broker.call<{ currentStep: string | null }, object>("linkages.status.get", { id: nameBasedUuid(id) }).catch(() => undefined);
            if (l?.currentStep === name) return;
            await new Promise((r) => setTimeout(r, 100));
          }
        };
        await step("await-all-clear");
        await level("normal", "critical", 400);
        return { id, url: "" };
      } finally {
        await bus.close();
      }
    };

    // Each path: a name, and how to drive it to its end (the workflow id and status URL).
    const paths: [string, () => Promise<{ id: string; url: string }>][] = [
      [
        "eid-issuance-completed",
        async () => ({
          id: `eid-issuance:HIST-OK-${stamp}`,
          url: await linkage("eid-issuances", { applicationNo: `HIST-OK-${stamp}`, idNumber: a!.citizenNo, name: a!.fullName }),
        }),
      ],
      [
        "eid-issuance-refused-mismatch",
        async () => ({
          id: `eid-issuance:HIST-NO-${stamp}`,
          url: await linkage("eid-issuances", { applicationNo: `HIST-NO-${stamp}`, idNumber: a!.citizenNo, name: b!.fullName }),
        }),
      ],
      [
        "marriage-completed",
        async () => ({
          id: `marriage-registration:HIST-MR-${stamp}`,
          url: await linkage("marriages", { applicationNo: `HIST-MR-${stamp}`, applicants: [who(m1!), who(f1!)], householdAddress: f1!.address }),
        }),
      ],
      [
        "marriage-refused-married",
        async () => ({
          id: `marriage-registration:HIST-MR2-${stamp}`,
          url: await linkage("marriages", { applicationNo: `HIST-MR2-${stamp}`, applicants: [who(m1!), who(f2!)] }),
        }),
      ],
      [
        "marriage-compensated",
        async () => ({
          id: `marriage-registration:HIST-MR3-${stamp}`,
          url: await linkage("marriages", {
            applicationNo: `HIST-MR3-${stamp}`,
            applicants: [who(m2!), { ...who(f2!), credential: "eyJhbGciOiJFZERTQSJ9.eyJlaWRfbm8iOiJGT1JHRUQifQ.c2lnbmF0dXJl" }],
          }),
        }),
      ],
      [
        "marriage-consent-withdrawn",
        async () => {
          await faults({ latencyMs: 300 });
          const url = await linkage("marriages", { applicationNo: `HIST-MR4-${stamp}`, applicants: [who(m3!), who(f3!)] });
          await stepIs(url, "issue-eids");
          await post(`${url}/signals`, { signal: "consent-withdrawn", reason: "recorded withdrawal" });
          await settle(url);
          await faults({});
          return { id: `marriage-registration:HIST-MR4-${stamp}`, url };
        },
      ],
      [
        "incident-utilities-all-clear",
        async () => {
          const leak = await gasLeak("A");
          await post(`${leak.url}/signals`, { signal: "all-clear", reason: "recorded all-clear" });
          return leak;
        },
      ],
      [
        "incident-utilities-cancelled",
        async () => {
          const leak = await gasLeak("B");
          await fetch(`${leak.url}/cancellation`, { method: "POST" });
          return leak;
        },
      ],
      ["resident-relocation-completed", async () => move(await premise("C"), (await seedCitizens(1))[0] as unknown as Person)],
      [
        "resident-relocation-refused-compensated",
        async () => {
          const address = await premise("D");
          const q = new URLSearchParams({ post_code: address.postcode, street: address.street });
          const accounts = ((await (await fetch(`${utilities}/utility/v1/accounts?${q}`)).json()) as { acct_list: { acct_no: string; svc_code: string }[] })
            .acct_list;
          const water = accounts.find((x) => x.svc_code === "W")!;
          await post(
            `${utilities}/utility/v1/suspensions`,
            { acct_no: water.acct_no, svc_code: "W", reason_txt: "recorded refusal" },
            { "idempotency-key": `hist-${stamp}` },
          );
          return move(address, (await seedCitizens(1))[0] as unknown as Person);
        },
      ],
      // One service told at once, one after a retry (a durable timer).
      ["address-change-notification-completed", () => notify([{}, { failFirst: 3 }])],
      // One service told, one refused (no access right granted): the linkage fails naming it.
      ["address-change-notification-failed", () => notify([{}, { granted: false }])],
      // Both approve; the key place opens, then closes when the (short) event ends.
      ["event-permit-issued", () => permit("OK", "VEN-0005", soon(3, 6))],
      ["event-permit-refused", () => permit("NO", "VEN-0002", far(0))],
      [
        "event-permit-document-issued",
        async () => {
          const p = await permit("DOC", "VEN-0003", soon(3, 6));
          await permitStatus(p.url, (s) => s.status === "AWAITING_DOCUMENT");
          await post(`${p.url}/signals`, { signal: "document", name: "evacuation-plan", reference: "https://docs.events.example/evac.pdf" });
          return p;
        },
      ],
      ["event-permit-lapsed", () => permit("LAPSE", "VEN-0003", far(1))],
      [
        "event-permit-capacity-taken",
        async () => {
          const first = await permit("HOLD", "VEN-0004", far(2));
          await permitStatus(first.url, (s) => s.status === "ISSUED");
          await fetch(`${first.url}/cancellation`, { method: "POST" }).then(() => settle(first.url));
          const again = await permit("HOLD2", "VEN-0004", far(3));
          await permitStatus(again.url, (s) => s.status === "ISSUED");
          return permit("TAKEN", "VEN-0004", far(3));
        },
      ],
      [
        "event-permit-cancelled",
        async () => {
          const p = await permit("CANCEL", "VEN-0001", far(4));
          await permitStatus(p.url, (s) => s.status === "ISSUED");
          await fetch(`${p.url}/cancellation`, { method: "POST" });
          return p;
        },
      ],
      // Units confirmed at once; the place below warning long enough: units released, the all-clear sent.
      ["crowd-dispatch-all-clear", () => crowded("CLEAR")],
      [
        "crowd-dispatch-escalated-confirmed",
        async () => {
          await dispatching({ mode: "never" });
          try {
            // Past the deadline (escalated), then no units (asked again), then units.
            return await crowded("ESC", async () => {
              await new Promise((r) => setTimeout(r, 2500));
              await dispatching({ mode: "unavailable" });
              await new Promise((r) => setTimeout(r, 600));
              await dispatching(null);
            });
          } finally {
            await dispatching(null);
          }
        },
      ],
    ];
    // Exported the way Temporal's docs do it: `temporal workflow show --output json`.
    const temporal = await ensureBinary("temporal", () => {});
    for (const [name, drive] of paths) {
      if (fs.existsSync(path.join(DIR, `${name}.json`))) continue;
      const { id, url } = await drive();
      const done = url ? await settle(url) : await settledOverNats(id);
      if (!name.endsWith("-failed")) assert.notEqual(done.status, "FAILED", `${name}: ${JSON.stringify(done)}`);
      const history = execFileSync(temporal, ["workflow", "show", "--address", process.env.TEMPORAL_ADDRESS!, "--workflow-id", id, "--output", "json"], {
        encoding: "utf8",
      });
      fs.writeFileSync(path.join(DIR, `${name}.json`), history);
    }
  });
}

test("every recorded history replays against today's workflows", async () => {
  const files = recorded();
  assert.ok(files.length >= 2, "workflows/histories/ holds the recorded paths");
  for (const r of await replay(WORKFLOWS, files)) assert.equal(r.error, undefined, `${r.file}: ${r.error?.message}`);
});

/** The hub's converter with the test key the encrypted histories were recorded under (test/integration/payload-encryption.test.ts records them). */
const withTestKey = () => hubDataConverter({ payloadKeysFile: path.join(DIR, "encrypted/payload-keys.json"), dataDir: DIR });

test("plain histories (linkages running when the codec came) replay through the hub's codec too", async () => {
  for (const r of await replay(WORKFLOWS, recorded(), withTestKey())) assert.equal(r.error, undefined, `${r.file}: ${r.error?.message}`);
});

test("a history recorded with the codec (encrypted payloads) replays with the same converter, and not without it", async () => {
  const files = fs
    .readdirSync(path.join(DIR, "encrypted"))
    .filter((f) => f.endsWith(".json") && f !== "payload-keys.json")
    .map((f) => `encrypted/${f}`);
  assert.ok(files.length >= 1, "workflows/histories/encrypted/ holds a recorded history");
  for (const f of files)
    assert.match(fs.readFileSync(path.join(DIR, f), "utf8"), new RegExp(Buffer.from(ENCRYPTED).toString("base64")), `${f} has encrypted payloads`);
  for (const r of await replay(WORKFLOWS, files, withTestKey())) assert.equal(r.error, undefined, `${r.file}: ${r.error?.message}`);
  for (const r of await replay(WORKFLOWS, files)) assert.ok(r.error, `${r.file} replayed without the key: its payloads were not encrypted`);
});

test("the guard bites: a reordered copy of a workflow fails the replay", async () => {
  const results = await replay(
    require.resolve("../fixtures/reordered-eid-issuance"),
    recorded().filter((f) => f.startsWith("eid-issuance-completed")),
  );
  assert.equal(results.length, 1);
  assert.match(String(results[0]!.error?.name), /DeterminismViolationError/);
});
