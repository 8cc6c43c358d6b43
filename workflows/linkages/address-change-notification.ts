/**
 * Change of address notification, built only from catalogue services: when the civil registry
 * records a household's new address (`civil-registry.household.address-changed`, which names
 * the change only: the linkage reads it first, address-change.ts, for `civil-registration`), every
 * enabled catalogue service whose document marks an operation `x-linkage: address-change` is
 * told, all in parallel, through the generic catalogue activity (activities/catalogue.ts),
 * with the change as the body (checked against that operation's request schema), the
 * purpose `civil-registration` and an Idempotency-Key per change and service.
 *
 * A service that fails for a technical reason is tried again on a schedule of durable timers
 * (`retryScheduleMs`: 1 min, 10 min, 1 h, 6 h, 24 h by default); one that refuses (no access
 * right, disabled, the change does not fit its document, a 4xx of its own) is not. Each
 * service's outcome shows in the linkage's `serviceCalls` as it goes. The linkage COMPLETES
 * when every service was told; otherwise it FAILS, naming each service not told and why, once
 * every other has its outcome. Nothing is compensated: a service told keeps the new address.
 */
import { ActivityFailure, ApplicationFailure, isCancellation, proxyActivities, sleep } from "@temporalio/workflow";
import type { catalogueActivities } from "../activities/catalogue";
import type { components } from "../../contracts/generated/types";
import { cancellable, linkageSteps, type Steps } from "./steps";
import { theChange, type ChangeInput } from "./address-change";
import type { LinkageOutcome } from "./visibility";
import { CATALOGUE_CALLS, CATALOGUE_LOOKUPS } from "./retry-policies";

type Schemas = components["schemas"];
type ServiceCall = Schemas["LinkageServiceCall"];
type Target = Schemas["LinkedServiceList"]["services"][number];

export type AddressChangeNotificationInput = ChangeInput & {
  linkageId: string;
  /** Waits before each further attempt at a service that failed; its length is the number of retries. */
  retryScheduleMs: number[];
};

export interface AddressChangeNotificationOutcome extends LinkageOutcome {
  result?: { changeNo: string; told: string[] };
}

/** The `x-linkage` value of the operations this linkage calls. */
export const ADDRESS_CHANGE = "address-change";
/** How often, at most, the progress memo is rewritten while calls change state. */
const MEMO_EVERY_MS = 1000;

const lookups = proxyActivities<ReturnType<typeof catalogueActivities>>(CATALOGUE_LOOKUPS);
const calls = proxyActivities<ReturnType<typeof catalogueActivities>>(CATALOGUE_CALLS);

export async function addressChangeNotification(input: AddressChangeNotificationInput): Promise<AddressChangeNotificationOutcome> {
  const steps = linkageSteps();
  return cancellable(steps, () => notifyAll(input, steps));
}

async function notifyAll(input: AddressChangeNotificationInput, steps: Steps): Promise<AddressChangeNotificationOutcome> {
  const { retryScheduleMs } = input;
  const change = await theChange(input, steps, "civil-registration");
  const { services } = await steps.run("find-services", () => lookups.linkedServices({ linkage: ADDRESS_CHANGE }));
  const states: ServiceCall[] = services.map((s) => ({ service: s.service, status: "PENDING", attempts: 0 }));
  steps.progress.serviceCalls = states;
  const show = throttled(steps);
  await steps.run("notify-services", () => Promise.all(services.map((target, i) => notify(target, states[i]!, change, retryScheduleMs, show))));
  const missed = states.filter((s) => s.status !== "SUCCEEDED");
  if (missed.length === 0) {
    steps.finish("COMPLETED");
    return { ...steps.progress, status: "COMPLETED", result: { changeNo: change.changeNo, told: states.map((s) => s.service) } };
  }
  steps.finish("FAILED");
  const told = states.length - missed.length;
  const why = missed.map((s) => `${s.service} (${s.status === "REFUSED" ? "refused" : `never reached in ${s.attempts} attempts`}: ${s.reason})`);
  throw ApplicationFailure.nonRetryable(
    `told ${told} of ${states.length} services of address change ${change.changeNo}; not told: ${why.join("; ")}`,
    "NOTIFICATION_INCOMPLETE",
  );
}

/** Tells one service, on the schedule; records each attempt in `state` (never throws, but for a cancellation). */
async function notify(target: Target, state: ServiceCall, change: Schemas["AddressChange"], schedule: number[], show: () => void): Promise<void> {
  const call = {
    service: target.service,
    method: target.method,
    path: target.path,
    headers: { "data-purpose": "civil-registration", "idempotency-key": idempotencyKey(change.changeNo, target.service) },
    body: change,
  };
  for (let attempt = 0; ; attempt++) {
    Object.assign(state, { status: "PENDING", attempts: attempt + 1 });
    delete state.nextAttemptAt;
    show();
    try {
      await calls.callService(call);
      Object.assign(state, { status: "SUCCEEDED" });
      delete state.reason;
      return show();
    } catch (err) {
      if (isCancellation(err)) throw err;
      const cause = err instanceof ActivityFailure ? err.cause : err;
      state.reason = (cause instanceof Error ? cause.message : String(cause)).slice(0, 1000);
      const refused = cause instanceof ApplicationFailure && cause.nonRetryable;
      if (refused || attempt >= schedule.length) {
        state.status = refused ? "REFUSED" : "UNREACHED";
        return show();
      }
      Object.assign(state, { status: "WAITING_RETRY", nextAttemptAt: new Date(Date.now() + schedule[attempt]!).toISOString() });
      show();
      await sleep(schedule[attempt]!);
    }
  }
}

/**
 * Shows the progress memo a second after the first change of a burst, then again after the
 * next: every upsert carries every service's state, so one per change would grow the
 * history with the square of the services. The step's end shows the last states at once.
 */
function throttled(steps: Steps): () => void {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    // Cancelled with the linkage: nothing left to show.
    void sleep(MEMO_EVERY_MS).then(
      () => {
        pending = false;
        steps.show();
      },
      () => undefined,
    );
  };
}

/** One key per change and service (the hub keeps keys per client, each for one target); hashed where the id is too long for a key. */
function idempotencyKey(changeNo: string, service: string): string {
  const key = `address-change:${changeNo}:${service}`;
  if (key.length <= 255) return key;
  let hash = 0x811c9dc5;
  for (const c of service) hash = Math.imul(hash ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return `address-change:${changeNo}:${hash.toString(16).padStart(8, "0")}`;
}
