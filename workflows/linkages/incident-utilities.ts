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
import { ANNOUNCEMENTS, EMERGENCY_ORDERS } from "./retry-policies";

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

const utilities = proxyActivities<ReturnType<typeof utilitiesActivities>>(EMERGENCY_ORDERS);
const announcements = proxyActivities<ReturnType<typeof announcementActivities>>(ANNOUNCEMENTS);

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
  const ending = listenForTheEnd();
  const services = servicesAtRisk(input);
  const result = {
    incidentId: input.incidentId,
    services,
    suspensionOrders: [] as string[],
    restorationOrders: [] as string[],
    escalated: false,
    alerts: ending.alerts,
  };
  const done = (extra: Partial<NonNullable<IncidentOutcome["result"]>> = {}): IncidentOutcome => {
    steps.finish("COMPLETED");
    return { ...steps.progress, currentStep: null, status: "COMPLETED", result: { ...result, ...extra, ...(ending.by ? { endedBy: ending.by } : {}) } };
  };

  const { postcode, street } = input.address ?? {};
  if (!postcode || !street) return steps.end("REFUSED", "the incident's alerts give no street and postcode, so its utility accounts cannot be found");

  // The deadline runs from the start: the supply must be cut in time, however long finding it takes.
  const cut = suspendEndangered(input, steps, { postcode, street }, services, () => ending.by !== undefined);
  result.escalated = await escalateIfLate(cut, input, steps, {
    linkageId: input.linkageId,
    linkageType: "incident-utilities",
    businessKey: businessKeyOf(input),
    step: "suspend-supply",
    reason: `the utility has not confirmed the ${services.join(" and ")} suspension at ${street}, ${postcode} within ${input.suspensionDeadlineMs} ms`,
    deadlineMs: input.suspensionDeadlineMs,
  });
  const suspended = await cut;
  if (!suspended) return done({ services: [] });
  const { atRisk, address, orders } = suspended;
  result.suspensionOrders = orders.map((o) => o.orderNo);
  onSuspended();

  steps.finish("AWAITING_ALL_CLEAR");
  await steps.run("await-all-clear", () => condition(() => ending.by !== undefined));
  steps.finish("RUNNING");

  const restored = await steps.run("restore-supply", () =>
    Promise.all(
      atRisk.map((service) =>
        utilities.restoreService({
          address,
          service,
          reason: `all clear: ${ending.by}`.slice(0, 200),
          incidentId: input.incidentId,
          idempotencyKey: `${idempotencyKeyOf(input)}:restore:${service}`,
        }),
      ),
    ),
  );
  result.restorationOrders = restored.map((o) => o.orderNo);
  return done({ services: atRisk, address });
}

/** The business key (CAP sender and first alert identifier), as workflows/workflow-ids.ts makes it (workflow code cannot import that module: it derives UUIDs with node:crypto). */
const businessKeyOf = (input: IncidentInput) => `${input.sender},${input.firstIdentifier}`;
/** The prefix of the keys that make each order to the utility happen once. */
const idempotencyKeyOf = (input: IncidentInput) => `incident:${businessKeyOf(input)}`;

/** The incident's later alerts, and what ended it (a Cancel or all-clear alert, or the `all-clear` signal), once something has. */
function listenForTheEnd(): { alerts: string[]; by?: string } {
  const ending: { alerts: string[]; by?: string } = { alerts: [] };
  setHandler(incidentAlert, (alert) => {
    ending.alerts.push(alert.alertIdentifier);
    if (alert.status === "CANCELLED") ending.by ??= `the alert was cancelled (${alert.alertIdentifier})`;
    if (alert.status === "CLEARED") ending.by ??= `all-clear alert ${alert.alertIdentifier}`;
  });
  setHandler(allClear, ({ reason }) => void (ending.by ??= reason ?? "all clear"));
  return ending;
}

/** Finds the accounts at the address and suspends the endangered supplies there; undefined when none is at risk or the incident already ended. */
async function suspendEndangered(input: IncidentInput, steps: Steps, at: { postcode: string; street: string }, services: Service[], ended: () => boolean) {
  const { accounts } = await steps.run("find-accounts", () => utilities.lookupAccounts(at));
  const atRisk = services.filter((s) => accounts.some((a) => a.service === s));
  if (atRisk.length === 0 || ended()) return undefined;
  const address = accounts.find((a) => atRisk.includes(a.service))!.address;
  const orders = await steps.run("suspend-supply", () =>
    Promise.all(
      atRisk.map((service) =>
        utilities.suspendService({
          address,
          service,
          reason: `${input.event}: incident ${input.incidentId}`,
          incidentId: input.incidentId,
          idempotencyKey: `${idempotencyKeyOf(input)}:suspend:${service}`,
        }),
      ),
    ),
  );
  return { atRisk, address, orders };
}

/** Escalates when `work` has not settled within the linkage's deadline (it goes on either way); says whether it did. */
async function escalateIfLate(work: Promise<unknown>, input: IncidentInput, steps: Steps, escalation: Schemas["LinkageEscalatedEvent"]): Promise<boolean> {
  let settled = false;
  // Settled either way ends the wait; a failure surfaces where `work` is awaited.
  work.then(
    () => (settled = true),
    () => (settled = true),
  );
  if (await condition(() => settled, input.suspensionDeadlineMs)) return false;
  steps.finish("ESCALATED");
  await announcements.escalate(escalation);
  return true;
}
