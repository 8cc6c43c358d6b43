/**
 * The step bookkeeping every linkage workflow shares (workflow code: deterministic): each
 * step is recorded in the progress memo as it starts and ends, and a step that must be
 * undone if a later one fails pushes its compensation.
 */
import { CancellationScope, isCancellation, upsertMemo, upsertSearchAttributes } from "@temporalio/workflow";
import { LINKAGE_STATUS, PROGRESS_MEMO, type LinkageOutcome, type Progress, type SearchStatus } from "./visibility";

/** An outcome without a result: refused or cancelled. */
export type Ended = Omit<LinkageOutcome, "result">;

export interface Steps {
  progress: Progress;
  run<T>(name: string, work: () => Promise<T>, undo?: (result: T) => Promise<unknown>): Promise<T>;
  /** Runs the compensations of completed steps, newest first. */
  compensate(): Promise<void>;
  /** Records where the linkage stands or how it ended, for `temporal workflow list --query`. */
  finish(status: SearchStatus): void;
  /** Ends the linkage with a reason (refused, or cancelled), compensating what was done. */
  end(status: "REFUSED" | "CANCELLED", reason: string): Promise<Ended>;
}

export function linkageSteps(): Steps {
  const progress: Progress = { currentStep: null, stepsDone: [] };
  const undo: (() => Promise<unknown>)[] = [];
  const compensate = async () => {
    for (const step of undo.splice(0).reverse()) await step();
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
    compensate,
    finish,
    async end(status, reason) {
      await compensate();
      finish(status === "CANCELLED" ? "COMPENSATED" : "REFUSED");
      return { ...progress, currentStep: null, status, reason };
    },
  };
}

/**
 * Runs a linkage so that a cancellation (a partner's, or an operator's `temporal workflow
 * cancel`) ends it as CANCELLED after its compensations, which run even though cancelled.
 */
export async function cancellable<T extends LinkageOutcome>(steps: Steps, body: () => Promise<T>, reason = () => "cancelled on request"): Promise<T | Ended> {
  try {
    return await body();
  } catch (err) {
    if (!isCancellation(err)) throw err;
    return CancellationScope.nonCancellable(() => steps.end("CANCELLED", reason()));
  }
}
