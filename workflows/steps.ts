/**
 * The step bookkeeping every linkage workflow shares (workflow code: deterministic): each
 * step is recorded in the progress memo as it starts and ends, and a step that must be
 * undone if a later one fails pushes its compensation.
 */
import { upsertMemo, upsertSearchAttributes } from "@temporalio/workflow";
import { LINKAGE_STATUS, PROGRESS_MEMO, type Progress } from "./visibility";

export interface Steps {
  progress: Progress;
  run<T>(name: string, work: () => Promise<T>, undo?: (result: T) => Promise<unknown>): Promise<T>;
  /** Runs the compensations of completed steps, newest first. */
  compensate(): Promise<void>;
  /** Records how the linkage ended, for `temporal workflow list --query`. */
  finish(status: "COMPLETED" | "REFUSED" | "COMPENSATED" | "FAILED"): void;
}

export function linkageSteps(): Steps {
  const progress: Progress = { currentStep: null, stepsDone: [] };
  const undo: (() => Promise<unknown>)[] = [];
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
    async compensate() {
      for (const step of undo.reverse()) await step();
    },
    finish(status) {
      upsertSearchAttributes([{ key: LINKAGE_STATUS, value: status }]);
    },
  };
}
