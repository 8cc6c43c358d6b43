/**
 * Where a linkage stands, answered from Temporal without a live worker: a running one from
 * its progress memo, a closed one from its description and result (a query would need the
 * worker to replay it); once Temporal has dropped a closed workflow (its namespace's
 * retention), from the outcome the hub stored when the linkage ended (outcomes.ts).
 */
import { WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from "@temporalio/client";
import type { components } from "../../contracts/generated/types";
import { HubError } from "../../platform/errors";
import { PROGRESS_MEMO, type LinkageOutcome, type Progress } from "../linkages/visibility";
import type { LinkageRow } from "./store";
import { storedStatus } from "./outcomes";

type Linkage = components["schemas"]["Linkage"];

async function describe(client: Client, row: LinkageRow): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await client.workflow.getHandle(row.workflow_id).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

const progressOf = (described: WorkflowExecutionDescription): Progress =>
  (described.memo?.[PROGRESS_MEMO] as Progress | undefined) ?? { currentStep: null, stepsDone: [] };

/**
 * A closed linkage's status no longer changes: kept for a minute (at most 10,000 of them), so a
 * partner polling one costs no description and no history read from Temporal. Not for longer:
 * an operator may reset a closed workflow.
 */
const CLOSED_KEPT_MS = 60_000;
const CLOSED_KEPT_MAX = 10_000;
const closed = new Map<string, { linkage: Linkage; until: number }>();

export async function linkageStatus(client: Client, row: LinkageRow): Promise<Linkage> {
  const kept = closed.get(row.workflow_id);
  if (kept && kept.until > Date.now()) return kept.linkage;
  const linkage = await statusInTemporal(client, row);
  if (linkage.status !== "RUNNING") {
    closed.delete(row.workflow_id);
    // A Map iterates in insertion order: the first key is the oldest kept.
    if (closed.size >= CLOSED_KEPT_MAX) closed.delete(closed.keys().next().value!);
    closed.set(row.workflow_id, { linkage, until: Date.now() + CLOSED_KEPT_MS });
  }
  return linkage;
}

async function statusInTemporal(client: Client, row: LinkageRow): Promise<Linkage> {
  const handle = client.workflow.getHandle(row.workflow_id);
  const base = { id: row.id, type: row.type, businessKey: row.business_key, createdAt: new Date(row.created_at).toISOString() };
  const described = await describe(client, row);
  // Ended, and dropped by Temporal since: as stored when it ended.
  if (!described && row.outcome) return storedStatus(base, row.outcome);
  // Recorded but not yet started (the start is retried by the next identical request).
  if (!described) return { ...base, status: "RUNNING", currentStep: null, stepsDone: [] };
  // The time stored at its end where there is one, so the answer is the same before and after Temporal drops it.
  const closedAt = row.outcome ? new Date(row.outcome.closedAt).toISOString() : described.closeTime?.toISOString();
  switch (described.status.name) {
    case "RUNNING":
      return { ...base, status: "RUNNING", ...progressOf(described) };
    case "COMPLETED": {
      const { result, ...rest } = (await handle.result()) as LinkageOutcome;
      return { ...base, ...rest, closedAt, ...(result ? { result: { ...result } } : {}) };
    }
    case "CANCELLED":
      return { ...base, status: "CANCELLED", currentStep: null, stepsDone: [], closedAt };
    case "FAILED": {
      const reason = await handle.result().then(
        () => "the workflow failed",
        (err) => (err instanceof WorkflowFailedError && err.cause ? err.cause.message : String(err)),
      );
      const { stepsDone, serviceCalls, permit } = progressOf(described);
      return {
        ...base,
        status: "FAILED",
        currentStep: null,
        stepsDone,
        ...(serviceCalls ? { serviceCalls } : {}),
        ...(permit ? { permit } : {}),
        closedAt,
        reason,
      };
    }
    default:
      return {
        ...base,
        status: "FAILED",
        currentStep: null,
        stepsDone: [],
        closedAt,
        reason: `the workflow ${described.status.name.toLowerCase().replace(/_/g, " ")}`,
      };
  }
}

/** Refuses a linkage that has ended, or has not started (recorded, its start not made yet): it takes no signal or cancellation. */
export async function assertRunning(client: Client, row: LinkageRow): Promise<void> {
  const described = await describe(client, row);
  // Dropped by Temporal since it ended.
  if (!described && row.outcome)
    throw new HubError("HUB_ERR_LINKAGE_CLOSED", `Linkage ${row.id} has ended (${row.outcome.status.toLowerCase()}); it takes no signal or cancellation`);
  if (!described)
    throw new HubError(
      "HUB_ERR_LINKAGE_NOT_STARTED",
      `Linkage ${row.id} is recorded but its workflow has not started; the same request that started it, sent again, starts it`,
    );
  if (described && described.status.name !== "RUNNING")
    throw new HubError("HUB_ERR_LINKAGE_CLOSED", `Linkage ${row.id} has ended (${described.status.name.toLowerCase()}); it takes no signal or cancellation`);
}
