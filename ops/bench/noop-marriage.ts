/**
 * The benchmark's yardstick: a workflow of the marriage linkage's shape (the same parallel and
 * sequential steps, the same progress memo and search attribute updates) whose activities do
 * nothing. What the linkage takes beyond it is the hub, the adapter and the registry.
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

export async function noopMarriage(): Promise<{ status: "COMPLETED"; stepsDone: string[] }> {
  const steps = linkageSteps();
  await steps.run("verify-identities", () => Promise.all([noop(), noop()]));
  await steps.run("check-eligibility", () => Promise.all([noop(), noop()]));
  await steps.run("issue-eids", () => Promise.all([noop(), noop()]));
  await steps.run("register-marriage", () => noop());
  steps.finish("COMPLETED");
  return { status: "COMPLETED", stepsDone: steps.progress.stepsDone };
}
