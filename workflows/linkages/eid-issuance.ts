/**
 * e-ID issuance: verify the citizen's identity at the civil registry, then issue an e-ID.
 * A mismatch or a registry refusal ends the linkage as REFUSED, not in a retry loop.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities } from "@temporalio/workflow";
import type { civilRegistryActivities } from "../activities/civil-registry";
import type { components } from "../../contracts/generated/types";
import { cancellable, linkageSteps, type Ended, type Steps } from "./steps";
import type { LinkageOutcome } from "./visibility";
import { REGISTRY_CALLS } from "./retry-policies";

type Schemas = components["schemas"];

export type EidIssuanceInput = Schemas["EidIssuanceRequest"] & { linkageId: string };

export interface Outcome extends LinkageOutcome {
  status: "COMPLETED" | "REFUSED";
  result?: Schemas["Eid"];
}

const registry = proxyActivities<ReturnType<typeof civilRegistryActivities>>(REGISTRY_CALLS);

export async function eidIssuance(input: EidIssuanceInput): Promise<Outcome | Ended> {
  const steps = linkageSteps();
  return cancellable(steps, () => issue(input, steps));
}

async function issue(input: EidIssuanceInput, steps: Steps): Promise<Outcome> {
  const refused = (reason: string): Outcome => {
    steps.finish("REFUSED");
    return { ...steps.progress, currentStep: null, status: "REFUSED", reason };
  };

  const { match } = await steps.run("verify-identity", () => registry.verifyIdentity({ idNumber: input.idNumber, name: input.name }));
  if (!match) return refused("identity mismatch: the name does not belong to the identity number");

  try {
    const eid = await steps.run("issue-eid", () => registry.issueEid({ idNumber: input.idNumber, idempotencyKey: `eid-issuance:${input.applicationNo}` }));
    steps.finish("COMPLETED");
    return { ...steps.progress, status: "COMPLETED", result: eid };
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === "HUB_ERR_AGENCY_REFUSED") return refused(cause.message);
    throw err;
  }
}
