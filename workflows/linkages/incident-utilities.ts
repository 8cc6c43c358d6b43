/**
 * Emergency to utilities: a gas leak or an electrical fire cuts the endangered supply at the
 * incident's address until the emergency services give the all-clear, then restores it.
 *
 * Started by the incident's `emergency.incident.reported` event and keyed by the incident
 * (CAP sender and first alert identifier). Its later alerts arrive as `incident-alert`
 * signals: an `Update` is recorded, a `Cancel` or the all-clear alert ends the wait, as does
 * the `all-clear` signal. A suspension the utility has not confirmed by its deadline is
 * escalated while the linkage keeps trying. Without an all-clear the supply stays cut and
 * the linkage stays open (LinkageStatus `AWAITING_ALL_CLEAR`). Cancelled, it leaves the
 * supply as it is: restoring gas at a leak nobody has declared safe is not a compensation.
 */
import { condition, proxyActivities, setHandler } from "@temporalio/workflow";
import type { utilitiesActivities } from "../activities/utilities";
import type { announcementActivities } from "../activities/announcements";
import type { components } from "../../contracts/generated/types";
import { servicesAtRisk } from "./hazards";
import { allClear, incidentAlert } from "./signals";
import { cancellable, linkageSteps, type Steps } from "./steps";
import type { LinkageOutcome } from "./visibility";

type Schemas = components["schemas"];
type Service = Schemas["UtilityService"];

export type IncidentInput = Pick<Schemas["IncidentEvent"], "incidentId" | "sender" | "firstIdentifier" | "event" | "category" | "address"> & {
  linkageId: string;
  /** How long the utility has to confirm a suspension before the linkage escalates. */
  suspensionDeadlineMs: number;
};

export interface IncidentOutcome extends LinkageOutcome {
  result?: {
    incidentId: string;
    services: Service[];
    address?: Schemas["Address"];
    suspensionOrders: string[];
    restorationOrders: string[];
    escalated: boolean;
    /** Identifiers of the incident's later alerts, in the order they arrived. */
    alerts: string[];
    endedBy?: string;
  };
}

// An emergency suspension keeps trying for as long as it takes (the escalation tells people).
const utilities = proxyActivities<ReturnType<typeof utilitiesActivities>>({
  startToCloseTimeout: "40s",
  retry: { initialInterval: "200ms", backoffCoefficient: 2, maximumInterval: "10s" },
});
const escalation = proxyActivities<ReturnType<typeof announcementActivities>>({ startToCloseTimeout: "10s" });

export async function incidentUtilities(input: IncidentInput): Promise<IncidentOutcome> {
  const steps = linkageSteps();
  let suspended = false;
  return cancellable(
    steps,
    () => run(input, steps, () => (suspended = true)),
    () =>
      suspended
        ? "cancelled on request; the suspended supply stays suspended until the utility restores it"
        : "cancelled on request before any supply was suspended",
  );
}

async function run(input: IncidentInput, steps: Steps, onSuspended: () => void): Promise<IncidentOutcome> {
  const alerts: string[] = [];
  let endedBy: string | undefined;
  setHandler(incidentAlert, (alert) => {
    alerts.push(alert.alertIdentifier);
    if (alert.status === "CANCELLED") endedBy ??= `the alert was cancelled (${alert.alertIdentifier})`;
    if (alert.status === "CLEARED") endedBy ??= `all-clear alert ${alert.alertIdentifier}`;
  });
  setHandler(allClear, ({ reason }) => void (endedBy ??= reason ?? "all clear"));

  const services = servicesAtRisk(input);
  const key = `incident:${input.sender},${input.firstIdentifier}`;
  const result = { incidentId: input.incidentId, services, suspensionOrders: [] as string[], restorationOrders: [] as string[], escalated: false, alerts };
  const done = (extra: Partial<NonNullable<IncidentOutcome["result"]>> = {}): IncidentOutcome => {
    steps.finish("COMPLETED");
    return { ...steps.progress, currentStep: null, status: "COMPLETED", result: { ...result, ...extra, ...(endedBy ? { endedBy } : {}) } };
  };

  const { postcode, street } = input.address ?? {};
  if (!postcode || !street) return steps.end("REFUSED", "the incident's alerts give no street and postcode, so its utility accounts cannot be found");

  // The deadline runs from the start: the supply must be cut in time, however long finding it takes.
  let settled = false;
  const cut = (async () => {
    const { accounts } = await steps.run("find-accounts", () => utilities.lookupAccounts({ postcode, street }));
    const atRisk = services.filter((s) => accounts.some((a) => a.service === s));
    if (atRisk.length === 0 || endedBy) return undefined;
    const address = accounts.find((a) => atRisk.includes(a.service))!.address;
    const orders = await steps.run("suspend-supply", () =>
      Promise.all(
        atRisk.map((service) =>
          utilities.suspendService({
            address,
            service,
            reason: `${input.event}: incident ${input.incidentId}`,
            incidentId: input.incidentId,
            idempotencyKey: `${key}:suspend:${service}`,
          }),
        ),
      ),
    );
    return { atRisk, address, orders };
  })();
  // Settled either way ends the wait; a failure surfaces at `await cut` below.
  cut.then(
    () => (settled = true),
    () => (settled = true),
  );
  if (!(await condition(() => settled, input.suspensionDeadlineMs))) {
    result.escalated = true;
    steps.finish("ESCALATED");
    await escalation.escalate({
      linkageId: input.linkageId,
      linkageType: "incident-utilities",
      businessKey: `${input.sender},${input.firstIdentifier}`,
      step: "suspend-supply",
      reason: `the utility has not confirmed the ${services.join(" and ")} suspension at ${street}, ${postcode} within ${input.suspensionDeadlineMs} ms`,
      deadlineMs: input.suspensionDeadlineMs,
    });
  }
  const suspended = await cut;
  if (!suspended) return done({ services: [] });
  const { atRisk, address, orders } = suspended;
  result.suspensionOrders = orders.map((o) => o.orderNo);
  onSuspended();

  steps.finish("AWAITING_ALL_CLEAR");
  await steps.run("await-all-clear", () => condition(() => endedBy !== undefined));
  steps.finish("RUNNING");

  const restored = await steps.run("restore-supply", () =>
    Promise.all(
      atRisk.map((service) =>
        utilities.restoreService({
          address,
          service,
          reason: `all clear: ${endedBy}`.slice(0, 200),
          incidentId: input.incidentId,
          idempotencyKey: `${key}:restore:${service}`,
        }),
      ),
    ),
  );
  result.restorationOrders = restored.map((o) => o.orderNo);
  return done({ services: atRisk, address });
}
