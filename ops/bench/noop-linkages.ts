/**
 * The benchmarks' yardsticks: workflows of a linkage's shape (the same parallel and sequential
 * steps, the same progress memo and search attribute updates) whose activities do nothing.
 * What a linkage takes beyond its yardstick is the hub, the adapters and the agencies.
 */
import { proxyActivities } from "@temporalio/workflow";
import { linkageSteps } from "../../workflows/linkages/steps";

export const noopActivities = {
  async noop(): Promise<{ ok: true }> {
    return { ok: true };
  },
};

const { noop } = proxyActivities<typeof noopActivities>({
  startToCloseTimeout: "15s",
  retry: { initialInterval: "200ms", backoffCoefficient: 2, maximumInterval: "5s", maximumAttempts: 10 },
});

type Done = { status: "COMPLETED"; stepsDone: string[] };

/** The marriage registration's shape. */
export async function noopMarriage(): Promise<Done> {
  const steps = linkageSteps();
  await steps.run("verify-identities", () => Promise.all([noop(), noop()]));
  await steps.run("check-eligibility", () => Promise.all([noop(), noop()]));
  await steps.run("issue-eids", () => Promise.all([noop(), noop()]));
  await steps.run("register-marriage", () => noop());
  steps.finish("COMPLETED");
  return { status: "COMPLETED", stepsDone: steps.progress.stepsDone };
}

/** The event permit's shape up to the permit issued with its key place open (what bench:permits times). */
export async function noopPermit(): Promise<Done> {
  const steps = linkageSteps();
  await steps.run("review", () => Promise.all([noop(), noop()]));
  await steps.run("hold-venue-capacity", () => noop());
  await noop(); // the permit announced
  await steps.run("open-key-place", () => noop());
  steps.finish("COMPLETED");
  return { status: "COMPLETED", stepsDone: steps.progress.stepsDone };
}
