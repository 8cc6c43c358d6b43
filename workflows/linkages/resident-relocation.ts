/**
 * Resident relocation: when the civil registry moves a household to a new address
 * (`civil-registry.household.address-changed`), the utility accounts at that address pass to
 * the household's first listed resident, one account at a time (gas, power, water). The
 * event names the change only: the linkage reads it first (address-change.ts), for the
 * purpose `utility-service`.
 *
 * The utility orders accounts singly, so a relocation can half-fail: one account refused or
 * never confirmed after the first were transferred. Then the accounts already transferred go
 * back to their previous holders (compensation) and the linkage ends REFUSED with the
 * utility's reason, or fails with the technical error, having changed nothing.
 */
import { ActivityFailure, ApplicationFailure, isCancellation, patched, proxyActivities } from "@temporalio/workflow";
import type { utilitiesActivities } from "../activities/utilities";
import type { components } from "../../contracts/generated/types";
import { cancellable, linkageSteps, type Steps } from "./steps";
import { theChange, type ChangeInput } from "./address-change";
import type { LinkageOutcome } from "./visibility";
import { UTILITY_ORDERS } from "./retry-policies";

type Schemas = components["schemas"];

export type RelocationInput = ChangeInput & { linkageId: string };

export interface RelocationOutcome extends LinkageOutcome {
  result?: { changeNo: string; newHolder: Schemas["UtilityHolder"]; address: Schemas["Address"]; transferred: string[] };
}

const utilities = proxyActivities<ReturnType<typeof utilitiesActivities>>(UTILITY_ORDERS);

const SERVICE_ORDER: Schemas["UtilityService"][] = ["gas", "power", "water"];

export async function residentRelocation(input: RelocationInput): Promise<RelocationOutcome> {
  const steps = linkageSteps();
  return cancellable(steps, () => relocate(input, steps));
}

async function relocate(input: RelocationInput, steps: Steps): Promise<RelocationOutcome> {
  const change = await theChange(input, steps, "utility-service");
  const newHolder = { idNumber: change.idNumbers[0]!, name: change.names[0]! };
  const { address } = change;
  const key = `relocation:${input.changeNo}`;

  const { accounts } = await steps.run("find-accounts", () => utilities.lookupAccounts({ postcode: address.postcode, street: address.street }));
  const ordered = [...accounts].sort((a, b) => SERVICE_ORDER.indexOf(a.service) - SERVICE_ORDER.indexOf(b.service) || a.accountNo.localeCompare(b.accountNo));

  const transferred: string[] = [];
  for (const account of ordered) {
    try {
      await steps.run(
        `transfer-${account.service}`,
        () => utilities.transferAccount({ accountNo: account.accountNo, newHolder, idempotencyKey: `${key}:${account.accountNo}` }),
        // Undo: the account goes back to whoever held it before this transfer changed it.
        async (transfer) => {
          const before = transfer.accounts.find((a) => a.changed)?.previousHolder;
          if (before) await utilities.transferAccount({ accountNo: account.accountNo, newHolder: before, idempotencyKey: `${key}:${account.accountNo}:undo` });
        },
      );
      transferred.push(account.accountNo);
    } catch (err) {
      // A cancellation is the linkage's to end (cancellable() gives the transfers back, where activities can still run).
      if (isCancellation(err) && patched("relocation-cancel-gives-back")) throw err;
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      const what = `the ${account.service} account ${account.accountNo}`;
      if (cause instanceof ApplicationFailure && cause.type === "HUB_ERR_AGENCY_REFUSED")
        return steps.end("REFUSED", `the utility refused to transfer ${what}: ${cause.message}`);
      await steps.compensate();
      steps.finish("COMPENSATED");
      throw ApplicationFailure.nonRetryable(
        `the utility did not confirm the transfer of ${what} (${cause?.message ?? String(err)}); the accounts transferred before it were returned`,
        "RELOCATION_HALF_FAILED",
      );
    }
  }

  steps.finish("COMPLETED");
  return { ...steps.progress, status: "COMPLETED", result: { changeNo: input.changeNo, newHolder, address, transferred } };
}
