/**
 * Crowd dispatch: a key place that reaches `critical` alerts the emergency services (a CAP 1.2
 * `Alert`) and asks public security for police units there. Units not confirmed within the
 * deadline escalate (LinkageStatus `ESCALATED`, `linkages.linkage.escalated`) while the linkage
 * keeps asking; a NO_UNITS answer is asked again at the next poll. The place's later level
 * changes arrive as `crowd-level` signals; once it has stayed below `warning` for the clear-after
 * time, the units are released and the emergency services get the all-clear (a CAP `Update`
 * with responseType `AllClear`), and the linkage completes. A place that falls quiet before any
 * unit is confirmed ends the same way (its pending request withdrawn).
 *
 * Started by the place's `crowd.level.changed` event to `critical` and keyed by the place and
 * the start of its critical episode (`dispatch:<placeId>:<at>`). History stays bounded however
 * long the police take: the linkage continues as a new run (its state carried over) every
 * `pollsPerRun` polls, and whenever its history grows past HISTORY_LIMIT events while it waits.
 */
import { CancellationScope, condition, isCancellation, makeContinueAsNewFunc, proxyActivities, setHandler, sleep, workflowInfo } from "@temporalio/workflow";
import type { catalogueActivities } from "../activities/catalogue";
import type { emergencyActivities } from "../activities/emergency";
import type { announcementActivities } from "../activities/announcements";
import type { components } from "../../contracts/generated/types";
import { crowdLevel } from "./signals";
import { cancellable, linkageSteps, type Ended, type Steps } from "./steps";
import type { LinkageOutcome } from "./visibility";
import { ANNOUNCEMENTS, EMERGENCY_ORDERS, PERMIT_AGENCY_CALLS } from "./retry-policies";

type Schemas = components["schemas"];
type Level = Schemas["CrowdLevel"];
type DispatchStatus = "REQUESTED" | "CONFIRMED" | "NO_UNITS" | "RELEASED";

/** Events in one run's history past which a waiting linkage continues as a new run. */
const HISTORY_LIMIT = 5000;

export interface CrowdDispatchInput {
  linkageId: string;
  placeId: string;
  /** The start of the critical episode: the `at` of the event that made the place critical. */
  episodeStart: string;
  count: number;
  capacity: number;
  /** Public security's service in the catalogue. */
  service: string;
  /** Police units asked for. */
  units: number;
  /** DISPATCH_DEADLINE_MS, DISPATCH_CLEAR_AFTER_MS, DISPATCH_POLL_MS at the start. */
  deadlineMs: number;
  clearAfterMs: number;
  pollMs: number;
  /** Polls in one run before it continues as a new one. */
  pollsPerRun: number;
  /** What earlier runs of this linkage did (continue-as-new). */
  carried?: Carried;
}

/** The linkage's state, carried from run to run. */
interface Carried {
  startedAt: number;
  stepsDone: string[];
  incidentId?: string;
  dispatch?: { dispatchId: string; status: DispatchStatus; unitIds: string[] };
  dispatchIds: string[];
  requests: number;
  escalated: boolean;
  confirmed: boolean;
  level: Level;
  levelAt: number;
  /** Workflow time since which the place has been below `warning` (unset while it is at or above). */
  belowSince?: number;
  levelChanges: number;
}

export interface CrowdDispatchOutcome extends LinkageOutcome {
  result?: {
    placeId: string;
    episodeStart: string;
    incidentId: string;
    dispatchIds: string[];
    unitIds: string[];
    escalated: boolean;
    levelChanges: number;
  };
}

const calls = proxyActivities<ReturnType<typeof catalogueActivities>>(PERMIT_AGENCY_CALLS);
const emergency = proxyActivities<ReturnType<typeof emergencyActivities>>(EMERGENCY_ORDERS);
const announcements = proxyActivities<ReturnType<typeof announcementActivities>>(ANNOUNCEMENTS);

export async function crowdDispatch(input: CrowdDispatchInput): Promise<CrowdDispatchOutcome | Ended> {
  const state: Carried = input.carried ?? {
    startedAt: Date.now(),
    stepsDone: [],
    dispatchIds: [],
    requests: 0,
    escalated: false,
    confirmed: false,
    level: "critical",
    levelAt: Date.parse(input.episodeStart),
    levelChanges: 0,
  };
  listenForLevels(state);
  const steps = linkageSteps();
  steps.progress.stepsDone.push(...state.stepsDone);
  if (state.escalated && !state.confirmed) steps.finish("ESCALATED");
  return cancellable(
    steps,
    async () => {
      try {
        return await run(input, steps, state);
      } catch (err) {
        // Cancelled: the units go back (or the request is withdrawn) before the cancellation is told.
        if (isCancellation(err)) await CancellationScope.nonCancellable(() => release(input, state, "the linkage was cancelled"));
        throw err;
      }
    },
    () => "cancelled on request; the units were released",
  );
}

/** The business key (the place and the episode's start), as workflows/workflow-ids.ts makes it. */
const keyOf = (input: CrowdDispatchInput) => `dispatch:${input.placeId}:${input.episodeStart}`;

async function run(input: CrowdDispatchInput, steps: Steps, state: Carried): Promise<CrowdDispatchOutcome> {
  const step = async <T>(name: string, work: () => Promise<T>) => {
    const result = await steps.run(name, work);
    state.stepsDone = [...steps.progress.stepsDone];
    return result;
  };
  if (!state.incidentId) {
    const { incidentId } = await step("alert-emergency", () =>
      emergency.raiseCrowdAlert({ placeId: input.placeId, episodeStart: input.episodeStart, count: input.count, capacity: input.capacity }),
    );
    state.incidentId = incidentId;
  }
  if (!state.confirmed && !cleared(input, state)) {
    const asking = step("request-units", () => askForUnits(input, state));
    await escalateIfLate(asking, input, steps, state);
    await asking;
  }
  if (state.confirmed) {
    steps.finish("AWAITING_ALL_CLEAR");
    await step("await-all-clear", () => awaitAllClear(input, state));
    steps.finish("RUNNING");
  }
  await step("release-units", () => release(input, state, `the crowd has stayed below warning for ${input.clearAfterMs} ms`));
  await step("send-all-clear", () =>
    emergency.sendAllClear({ incidentId: state.incidentId!, note: `Key place ${input.placeId}: the crowd has stayed below warning; units released.` }),
  );
  steps.finish("COMPLETED");
  const result = {
    placeId: input.placeId,
    episodeStart: input.episodeStart,
    incidentId: state.incidentId,
    dispatchIds: state.dispatchIds,
    unitIds: state.dispatch?.unitIds ?? [],
    escalated: state.escalated,
    levelChanges: state.levelChanges,
  };
  return { ...steps.progress, currentStep: null, status: "COMPLETED", result };
}

/** The place's later levels: out-of-order changes (older than the latest) are ignored. */
function listenForLevels(state: Carried): void {
  setHandler(crowdLevel, (change) => {
    const at = Date.parse(change.at);
    if (at < state.levelAt) return;
    state.levelChanges++;
    state.level = change.level;
    state.levelAt = at;
    if (change.level !== "normal") state.belowSince = undefined;
    // Below since the reading that put it there, and no later than now (a clock ahead of the hub's).
    else state.belowSince ??= Math.min(at, Date.now());
  });
}

/** Whether the place has stayed below `warning` for the clear-after time. */
const cleared = (input: CrowdDispatchInput, state: Carried) =>
  state.level === "normal" && state.belowSince !== undefined && Date.now() - state.belowSince >= input.clearAfterMs;

/** Continues as a new run with the state so far. */
async function carryOn(input: CrowdDispatchInput, state: Carried): Promise<never> {
  const { memo, typedSearchAttributes } = workflowInfo();
  return makeContinueAsNewFunc<typeof crowdDispatch>({ memo, typedSearchAttributes })({ ...input, carried: state });
}

/** Asks for units and polls the dispatch until units are confirmed (or the crowd has gone); asks again after NO_UNITS. */
async function askForUnits(input: CrowdDispatchInput, state: Carried): Promise<void> {
  for (let polls = 0; ; polls++) {
    const current = state.dispatch;
    if (!current || current.status === "NO_UNITS" || current.status === "RELEASED") {
      state.requests++;
      // Not cancellable: a cancellation while the request is out waits for its answer, so the
      // request it made is known and withdrawn, never left standing at the police.
      const answer = await CancellationScope.nonCancellable(() =>
        calls.callService({
          service: input.service,
          client: "hub",
          method: "POST",
          path: "/dispatches",
          headers: { "data-purpose": "event-safety", "idempotency-key": `${keyOf(input)}:request:${state.requests}` },
          body: {
            reference: keyOf(input),
            placeId: input.placeId,
            units: input.units,
            reason: `Crowd over capacity: ${input.count} of ${input.capacity}`,
          },
        }),
      );
      state.dispatch = dispatchOf(answer.body);
      state.dispatchIds.push(state.dispatch.dispatchId);
    } else {
      const answer = await calls.callService({
        service: input.service,
        client: "hub",
        method: "GET",
        path: `/dispatches/${encodeURIComponent(current.dispatchId)}`,
        headers: { "data-purpose": "event-safety" },
      });
      state.dispatch = dispatchOf(answer.body);
    }
    if (state.dispatch.status === "CONFIRMED") {
      state.confirmed = true;
      return;
    }
    if (cleared(input, state)) return;
    if (polls + 1 >= input.pollsPerRun) await carryOn(input, state);
    await sleep(input.pollMs);
  }
}

const dispatchOf = (body: unknown) => {
  const { dispatchId, status, unitIds } = body as { dispatchId: string; status: DispatchStatus; unitIds: string[] };
  return { dispatchId, status, unitIds };
};

/** Escalates when no unit is confirmed within the deadline from the linkage's start (it keeps asking either way). */
async function escalateIfLate(asking: Promise<void>, input: CrowdDispatchInput, steps: Steps, state: Carried): Promise<void> {
  if (state.escalated) return;
  let settled = false;
  asking.then(
    () => (settled = true),
    () => (settled = true),
  );
  const left = state.startedAt + input.deadlineMs - Date.now();
  if (left > 0 && (await condition(() => settled, left))) return;
  state.escalated = true;
  steps.finish("ESCALATED");
  await announcements.escalate({
    linkageId: input.linkageId,
    linkageType: "crowd-dispatch",
    businessKey: `${input.placeId}:${input.episodeStart}`,
    step: "request-units",
    reason: `public security has not confirmed police units at key place ${input.placeId} within ${input.deadlineMs} ms`.slice(0, 500),
    deadlineMs: input.deadlineMs,
  });
}

/** Waits until the place has stayed below `warning` for the clear-after time; continues as a new run if its history grows long. */
async function awaitAllClear(input: CrowdDispatchInput, state: Carried): Promise<void> {
  for (;;) {
    if (cleared(input, state)) return;
    if (workflowInfo().historyLength > HISTORY_LIMIT) await carryOn(input, state);
    const seen = state.levelChanges;
    if (state.level === "normal" && state.belowSince !== undefined)
      await condition(() => state.levelChanges !== seen, Math.max(0, state.belowSince + input.clearAfterMs - Date.now()));
    else await condition(() => state.levelChanges !== seen);
  }
}

/** Releases the units of the current dispatch (a request not yet confirmed is withdrawn); a NO_UNITS answer holds none. */
async function release(input: CrowdDispatchInput, state: Carried, reason: string): Promise<void> {
  const current = state.dispatch;
  if (!current || current.status === "NO_UNITS" || current.status === "RELEASED") return;
  const answer = await calls.callService({
    service: input.service,
    client: "hub",
    method: "POST",
    path: `/dispatches/${encodeURIComponent(current.dispatchId)}/release`,
    headers: { "data-purpose": "event-safety", "idempotency-key": `${keyOf(input)}:release:${current.dispatchId}` },
    body: { reason: reason.slice(0, 500) },
  });
  state.dispatch = { ...dispatchOf(answer.body), unitIds: current.unitIds };
}
