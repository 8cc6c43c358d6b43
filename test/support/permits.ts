/**
 * Event permits on the real stack, as an organiser uses them: a partner of its own (scope
 * `permits.apply`, purpose `event-safety`, a webhook receiver), its applications over REST,
 * the linkage's status polled, the permit's events read off the EVENTS stream, and the
 * agencies' sandboxes read directly (PUBLIC_SECURITY_URL, FIRE_SAFETY_URL).
 */
import http from "node:http";
import { randomUUID } from "node:crypto";
import type { components } from "../../contracts/generated/types";
import type { EventBus } from "../../platform/events/bus";
import type { CloudEvent } from "../../platform/events/envelope";
import { loadConfig } from "../../platform/config";
import { addPartner } from "../../partners/registry";
import { issueToken } from "../../partners/tokens";
import { freePort } from "./hub";
import { rawFetch, suiteDb } from "./partner";

export type Linkage = components["schemas"]["Linkage"];
type Application = components["schemas"]["EventPermitRequest"];

/**
 * Far-future hours no other run shares: a run's base moves 1000 s for every second of real
 * time (a run a minute later is 16 hours on), and each test takes slots of 3 hours from it.
 */
const BASE = Date.UTC(2100, 0, 1) + Math.floor(((Date.now() - Date.UTC(2026, 0, 1)) * 1000) / 3_600_000) * 3_600_000;
export const slot = (k: number, hours = 2) => ({
  start: new Date(BASE + k * 3 * 3_600_000).toISOString().replace("Z", "+00:00"),
  end: new Date(BASE + k * 3 * 3_600_000 + hours * 3_600_000).toISOString().replace("Z", "+00:00"),
});

export const applicationNo = (tag: string) => `EP-T-${tag}-${randomUUID().slice(0, 8)}`;

export const application = (venueId: string, hours: { start: string; end: string }, over: Partial<Application> = {}): Application => ({
  applicationNo: applicationNo(venueId),
  eventName: "Acceptance Test Concert",
  venueId,
  ...hours,
  expectedAttendance: 1000,
  organiser: { name: "Test Organiser", email: "organiser@events.example", phone: "+8613800138000" },
  securityPlan: "https://docs.events.example/plans/security-plan.pdf",
  ...over,
});

export interface Organiser {
  id: string;
  headers: Record<string, string>;
  /** The webhook deliveries it received (the CloudEvents). */
  hooks: CloudEvent[];
  close(): void;
}

/** An organiser: a partner with the permit scope and purpose and a webhook that acknowledges every delivery. */
export async function organiser(): Promise<Organiser> {
  const hooks: CloudEvent[] = [];
  const port = await freePort();
  const receiver = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => (body += d));
    req.on("end", () => {
      hooks.push(JSON.parse(body) as CloudEvent);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(port, "127.0.0.1", resolve));
  const scopes = ["permits.apply", "linkages.read", "linkages.signal"];
  const made = await addPartner(await suiteDb(), {
    id: `organiser-${randomUUID().slice(0, 8)}`,
    scopes,
    purposes: ["event-safety"],
    webhookUrl: `http://127.0.0.1:${port}/hooks`,
  });
  const { access_token } = await issueToken(await suiteDb(), loadConfig({}), { partnerId: made.partner.id, scopes });
  return {
    id: made.partner.id,
    headers: { authorization: `Bearer ${access_token}`, "data-purpose": "event-safety", "content-type": "application/json" },
    hooks,
    close: () => receiver.close(),
  };
}

export const apply = (api: string, who: Organiser, body: unknown) =>
  rawFetch(`${api}/v1/linkages/event-permits`, { method: "POST", headers: who.headers, body: JSON.stringify(body) });

export const signal = (api: string, who: Organiser, id: string, body: unknown) =>
  rawFetch(`${api}/v1/linkages/${id}/signals`, { method: "POST", headers: who.headers, body: JSON.stringify(body) });

export const cancel = (api: string, who: Organiser, id: string) => rawFetch(`${api}/v1/linkages/${id}/cancellation`, { method: "POST", headers: who.headers });

/** The linkage's status, polled until `done` holds. */
export async function statusUntil(api: string, who: Organiser, id: string, done: (l: Linkage) => boolean, timeoutMs = 60_000): Promise<Linkage> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await rawFetch(`${api}/v1/linkages/${id}`, { headers: who.headers });
    const linkage = res.status === 200 ? ((await res.json()) as Linkage) : undefined;
    if (linkage && done(linkage)) return linkage;
    if (Date.now() > deadline) throw new Error(`linkage ${id} never got there: ${JSON.stringify(linkage)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Until `ready` holds, or the time is up (then its last value). */
export async function eventually<T>(read: () => Promise<T>, ready: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ready(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The permit events of one linkage on the EVENTS stream, in order. */
export async function permitEvents(bus: EventBus, linkageId: string): Promise<CloudEvent[]> {
  const seen: CloudEvent[] = [];
  const consumer = await bus.js.consumers.get("EVENTS", { filterSubjects: ["events.permits.>"] });
  const info = await consumer.info(true);
  if (info.num_pending === 0) return seen;
  const messages = await consumer.fetch({ max_messages: info.num_pending, expires: 2000 });
  for await (const m of messages) {
    const event = m.json<CloudEvent>();
    if (event.subject === linkageId) seen.push(event);
    if (m.info.pending === 0) break;
  }
  return seen;
}

/** The key place as public security holds it. */
export async function keyPlaceAt(placeId: string): Promise<{ status: string; capacity: number; venueId: string; reference: string }> {
  const res = await rawFetch(`${process.env.PUBLIC_SECURITY_URL}/key-places/${encodeURIComponent(placeId)}`);
  if (res.status !== 200) throw new Error(`key place ${placeId}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { status: string; capacity: number; venueId: string; reference: string };
}

/** Sets the fire service sandbox's fault injection (`{}`: none). */
export const fireFaults = (faults: object) =>
  rawFetch(`${process.env.FIRE_SAFETY_URL}/_sandbox/faults`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(faults) });
