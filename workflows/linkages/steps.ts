/**
 * The step bookkeeping every linkage workflow shares (workflow code: deterministic): each
 * step is recorded in the progress memo as it starts and ends, and a step that must be
 * undone if a later one fails pushes its compensation.
 */
import {
  CancellationScope,
  ContinueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from "@temporalio/workflow";
import type { announcementActivities } from "../activities/announcements";
import type { components } from "../../contracts/generated/types";
import { LINKAGE_STATUS, PROGRESS_MEMO, type LinkageOutcome, type Progress, type SearchStatus } from "./visibility";
import { ANNOUNCEMENTS } from "./retry-policies";

type Schemas = components["schemas"];

/** An outcome without a result: refused or cancelled. */
export type Ended = Omit<LinkageOutcome, "result">;

export interface Steps {
  progress: Progress;
  run<T>(name: string, work: () => Promise<T>, undo?: (result: T) => Promise<unknown>): Promise<T>;
  /** Pushes the undo of work a step did before it failed partway (its own undo is pushed only when it completes). */
  undoLater(undo: () => Promise<unknown>): void;
  /** Runs the compensations of completed steps, newest first. */
  compensate(): Promise<void>;
  /** Whether a compensation has run (the linkage undid work it had done). */
  readonly compensated: boolean;
  /** Shows `progress` as it is now in the progress memo (steps show themselves; this is for what a step records inside). */
  show(): void;
  /** Records where the linkage stands or how it ended, for `temporal workflow list --query`. */
  finish(status: SearchStatus): void;
  /** Ends the linkage with a reason (refused, or cancelled), compensating what was done. */
  end(status: "REFUSED" | "CANCELLED", reason: string): Promise<Ended>;
}

export function linkageSteps(): Steps {
  const progress: Progress = { currentStep: null, stepsDone: [] };
  const undo: (() => Promise<unknown>)[] = [];
  let compensated = false;
  const compensate = async () => {
    for (const step of undo.splice(0).reverse()) {
      compensated = true;
      await step();
    }
  };
  const finish = (status: SearchStatus) => upsertSearchAttributes([{ key: LINKAGE_STATUS, value: status }]);
  const show = () => upsertMemo({ [PROGRESS_MEMO]: { ...progress, stepsDone: [...progress.stepsDone] } });
  return {
    progress,
    async run(name, work, compensation) {
      progress.currentStep = name;
      show();
      const result = await work();
      progress.stepsDone.push(name);
      progress.currentStep = null;
      show();
      if (compensation) undo.push(() => compensation(result));
      return result;
    },
    undoLater: (work) => void undo.push(work),
    show,
    compensate,
    get compensated() {
      return compensated;
    },
    finish,
    async end(status, reason) {
      await compensate();
      finish(status === "CANCELLED" ? "COMPENSATED" : "REFUSED");
      return { ...progress, currentStep: null, status, reason };
    },
  };
}

const announcements = proxyActivities<ReturnType<typeof announcementActivities>>(ANNOUNCEMENTS);

/**
 * Tells whoever started the linkage that it ended (its webhook), and has the hub store its outcome (so status answers once Temporal has
 * dropped the closed workflow); linkages started before this existed do not.
 */
async function announce(end: { status: Schemas["LinkageStatus"]; compensated: boolean; reason?: string; progress: Progress; result?: object }): Promise<void> {
  if (!patched("announce-end")) return;
  const { reason, result, ...rest } = end;
  const progress = { ...end.progress, currentStep: null, stepsDone: [...end.progress.stepsDone] };
  await CancellationScope.nonCancellable(() =>
    announcements.announceEnd({ workflowId: workflowInfo().workflowId, ...rest, progress, ...(reason ? { reason } : {}), ...(result ? { result } : {}) }),
  );
}

/**
 * Runs a linkage and announces how it ended (a continue-as-new passes through unannounced). A cancellation (a partner's, or an operator's
 * `temporal workflow cancel`) ends it as CANCELLED after its compensations, which run even
 * though cancelled; a failure is announced, then fails the workflow.
 */
export async function cancellable<T extends LinkageOutcome>(steps: Steps, body: () => Promise<T>, reason = () => "cancelled on request"): Promise<T | Ended> {
  let outcome: T | Ended;
  try {
    outcome = await body();
  } catch (err) {
    // Continued as a new run (a long linkage bounding its history): not an end.
    if (err instanceof ContinueAsNew) throw err;
    if (!isCancellation(err)) {
      await announce({ status: "FAILED", compensated: steps.compensated, reason: err instanceof Error ? err.message : String(err), progress: steps.progress });
      throw err;
    }
    outcome = await CancellationScope.nonCancellable(() => steps.end("CANCELLED", reason()));
  }
  const { status, reason: why, result, ...progress } = outcome as LinkageOutcome;
  await announce({ status, compensated: steps.compensated, progress, ...(why ? { reason: why } : {}), ...(result ? { result } : {}) });
  return outcome;
}
