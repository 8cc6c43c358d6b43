/**
 * How each linkage ended, kept in the hub's database (hub.linkage_outcome): written by the
 * linkage's last activity (announceEnd) before its workflow closes, so once Temporal has dropped
 * the closed workflow (its namespace's retention, HUB_TEMPORAL_RETENTION_DAYS) the linkage's
 * status still answers from here and a repeated start starts nothing. No personal data: the
 * result keeps its references (e-ID, registration, change, order numbers), not the id numbers,
 * names, addresses or credentials it named.
 */
import type { components } from "../../contracts/generated/types";
import type { Queryable } from "../../platform/db";
import type { Progress } from "../linkages/visibility";

type Linkage = components["schemas"]["Linkage"];

export interface StoredOutcome {
  status: components["schemas"]["LinkageStatus"];
  reason: string | null;
  progress: Pick<Progress, "stepsDone" | "serviceCalls" | "permit">;
  result: Record<string, unknown> | null;
  closedAt: string;
}

/** The outcome as a column of a `hub.linkage l LEFT JOIN hub.linkage_outcome o` (null while the linkage runs). */
export const OUTCOME_COLUMN = `CASE WHEN o.linkage_id IS NULL THEN NULL ELSE jsonb_build_object(
  'status', o.status, 'reason', o.reason, 'progress', o.progress, 'result', o.result, 'closedAt', o.closed_at) END AS outcome`;

/** The keys of a linkage's result that name or identify a person (or hold a credential that does): left out of the stored outcome. */
export const PERSONAL_KEYS = new Set(["idNumber", "credential", "name", "fullName", "holder", "newHolder", "address", "email", "phone", "organiser"]);

/** The result without what identifies a person, at any depth. */
export function referencesOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(referencesOf);
  if (!value || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (PERSONAL_KEYS.has(k) ? [] : [[k, referencesOf(v)]])));
}

export interface Ending {
  status: StoredOutcome["status"];
  reason?: string;
  progress?: Progress;
  result?: object;
}

/** Stores how the linkage ended, in `tx`; a later end (an operator reset the closed workflow, which ran again) replaces it. */
export async function storeOutcome(tx: Queryable, linkageId: string, end: Ending): Promise<void> {
  const { stepsDone = [], serviceCalls, permit } = end.progress ?? { stepsDone: [] };
  const progress = { stepsDone, ...(serviceCalls ? { serviceCalls } : {}), ...(permit ? { permit } : {}) };
  await tx.query(
    `INSERT INTO hub.linkage_outcome (linkage_id, status, reason, progress, result, closed_at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (linkage_id) DO UPDATE SET status = $2, reason = $3, progress = $4, result = $5, closed_at = $6`,
    [
      linkageId,
      end.status,
      end.reason ?? null,
      JSON.stringify(progress),
      end.result && end.status === "COMPLETED" ? JSON.stringify(referencesOf(end.result)) : null,
      new Date(),
    ],
  );
}

/** The status of a closed linkage as stored: what it answers once Temporal no longer has its workflow. */
export function storedStatus(base: Pick<Linkage, "id" | "type" | "businessKey" | "createdAt">, outcome: StoredOutcome): Linkage {
  const { stepsDone, serviceCalls, permit } = outcome.progress;
  return {
    ...base,
    status: outcome.status,
    currentStep: null,
    stepsDone,
    ...(serviceCalls ? { serviceCalls } : {}),
    ...(permit ? { permit } : {}),
    closedAt: new Date(outcome.closedAt).toISOString(),
    ...(outcome.reason ? { reason: outcome.reason } : {}),
    ...(outcome.result ? { result: outcome.result } : {}),
  };
}
