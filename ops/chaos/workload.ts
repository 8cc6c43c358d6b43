/**
 * The chaos workload: a steady mix of requests to a running hub, sent at a fixed rate
 * whatever the answers take (one loop per kind, each on its own schedule), each sent once and
 * recorded as the client saw it (client.ts). The mix: identity verifications of sandbox
 * citizens, e-ID issuance linkages (a fresh citizen and application number each), and CAP
 * incident reports at premises of their own (each opens an incident, whose
 * `emergency.incident.reported` event starts the incident-utilities linkage that suspends the
 * premise's gas). checks.ts then proves what the accepted ones did.
 */
import { randomBytes } from "node:crypto";
import { FIXTURE_SENDER, fixtureAlert, type Premise } from "./alerts";
import { send, tokenSource, type Kind, type Outcome, type Request, type Tokens } from "./client";
import { openPremises, sandboxCitizens, type SandboxCitizen } from "./sandboxes";

export type { Outcome } from "./client";

export interface WorkloadOptions {
  /** The hub: its load balancer, or a gateway. */
  baseUrl: string;
  civilRegistryUrl: string;
  utilitiesUrl: string;
  /** A partner with every scope (`linkage-hub partners add --test`). */
  clientId: string;
  clientSecret: string;
  /** Requests a second, all kinds together (default 10). */
  perSecond?: number;
  /** How long a request may take before it counts as failed (default 10 s). */
  timeoutMs?: number;
}

export interface Workload {
  /** Stops sending, waits for the answers still due, and hands every outcome over. */
  stop(): Promise<Outcome[]>;
}

/** Each kind's share of the requests. */
export const MIX: Record<Kind, number> = { verification: 0.5, "eid-issuance": 0.3, incident: 0.2 };
/** Requests of one kind awaiting their answer at most; the loop waits beyond that. */
const MAX_IN_FLIGHT = 200;
const VERIFIED_CITIZENS = 20;
const REFILL = 40;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Items made `REFILL` at a time, in the background once fewer than half remain. */
function pool<T>(make: () => Promise<T[]>) {
  const items: T[] = [];
  let making: Promise<void> | undefined;
  const refill = () =>
    (making ??= make()
      .then((made) => void items.push(...made))
      .finally(() => (making = undefined)));
  return {
    async take(): Promise<T> {
      if (items.length < REFILL / 2) refill().catch(() => undefined);
      while (!items.length) await refill();
      return items.shift()!;
    },
  };
}

const jsonRequest = (kind: Kind, key: string, path: string, purpose: string, body: object, subject?: string): Request => ({
  kind,
  key,
  path,
  subject,
  headers: { "content-type": "application/json", "data-purpose": purpose },
  body: JSON.stringify(body),
});

/** The next request of each kind. */
function requestMakers(o: WorkloadOptions, verified: SandboxCitizen[]): Record<Kind, () => Promise<Request>> {
  const run = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`.toUpperCase();
  let n = 0;
  let batch = 0;
  const fresh = pool(() => sandboxCitizens(o.civilRegistryUrl, REFILL));
  const premises = pool(async () => {
    const b = batch++;
    return openPremises(o.utilitiesUrl, await sandboxCitizens(o.civilRegistryUrl, REFILL), (i) => `混沌路${run}-${b}-${i}号`);
  });
  return {
    verification: async () => {
      // Keyed by a number of the run's own: an id number stays out of reports and logs.
      const i = n++;
      const c = verified[i % verified.length]!;
      return jsonRequest("verification", `IV-${run}-${i}`, "/v1/identity-verifications", "identity-verification", { idNumber: c.citizenNo, name: c.fullName });
    },
    "eid-issuance": async () => {
      const c = await fresh.take();
      const applicationNo = `EID-CHAOS-${run}-${n++}`;
      const body = { applicationNo, idNumber: c.citizenNo, name: c.fullName };
      return jsonRequest("eid-issuance", applicationNo, "/v1/linkages/eid-issuances", "civil-registration", body, c.citizenNo);
    },
    incident: async () => {
      const where: Premise = await premises.take();
      const identifier = `FD-CHAOS-${run}-${n++}`;
      const body = fixtureAlert("gas-leak-alert.xml", identifier, where);
      return { kind: "incident", key: `${FIXTURE_SENDER},${identifier}`, path: "/v1/incidents", headers: { "content-type": "application/cap+xml" }, body };
    },
  };
}

/** Sends `next()` requests `perSecond` a second until `stopped()`, then waits for those in flight. */
async function loop(perSecond: number, next: () => Promise<Outcome | undefined>, sink: Outcome[], stopped: () => boolean): Promise<void> {
  const interval = 1000 / perSecond;
  const start = Date.now();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; !stopped(); i++) {
    const wait = start + i * interval - Date.now();
    if (wait > 0) await sleep(wait);
    if (stopped()) break;
    if (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    const sent: Promise<void> = next()
      .then((o) => void (o && sink.push(o)))
      .catch(() => undefined)
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  }
  await Promise.all(inFlight);
}

/** Seeds the citizens it verifies, then sends the mix until `stop()`. */
export async function startWorkload(o: WorkloadOptions): Promise<Workload> {
  const tokens: Tokens = tokenSource(o, o.timeoutMs);
  await tokens.get();
  const makers = requestMakers(o, await sandboxCitizens(o.civilRegistryUrl, VERIFIED_CITIZENS));
  const outcomes: Outcome[] = [];
  let stopping = false;
  const perSecond = o.perSecond ?? 10;
  // A request the sandboxes could not prepare (no citizen, no premise) is not sent: it is no answer of the hub's.
  const next = (kind: Kind) => () =>
    makers[kind]().then(
      (r) => send(o.baseUrl, tokens, r, o.timeoutMs),
      () => undefined,
    );
  const loops = (Object.keys(MIX) as Kind[]).map((kind) => loop(perSecond * MIX[kind], next(kind), outcomes, () => stopping));
  return {
    async stop() {
      stopping = true;
      await Promise.all(loops);
      return outcomes.sort((a, b) => a.start - b.start);
    },
  };
}
