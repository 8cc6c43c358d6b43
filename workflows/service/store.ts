/**
 * The hub's record of each linkage (hub.linkage): written once, with its
 * `linkages.linkage.started` event, in the caller's transaction, so a repeated start finds the
 * first record; and found again by id, for the partner who owns it.
 */
import type { Context } from "moleculer";
import type { components } from "../../contracts/generated/types";
import { isResidentId } from "../../contracts/formats";
import { metaOf } from "../../platform/call-meta";
import type { Queryable } from "../../platform/db";
import { HubError } from "../../platform/errors";
import { createEvent } from "../../platform/events/envelope";
import { enqueue } from "../../platform/events/outbox";
import { linkagesStarted } from "../metrics";
import { linkageIdOf, workflowIdOf } from "../workflow-ids";
import { OUTCOME_COLUMN, type StoredOutcome } from "./outcomes";

type LinkageType = components["schemas"]["LinkageType"];

export interface LinkageRow {
  id: string;
  type: LinkageType;
  business_key: string;
  workflow_id: string;
  partner_id: string | null;
  created_at: Date | string;
  /** How it ended, once it has (outcomes.ts): what status answers when Temporal no longer has the workflow. */
  outcome: StoredOutcome | null;
}

/** Who asks: the partner behind a REST or NATS call (the gateway puts it in meta), or an internal caller (none). */
export interface Caller {
  requestId?: string | null;
  partnerId?: string | null;
}

export const callerOf = (ctx: Context): Caller => ({ requestId: ctx.requestID, partnerId: metaOf(ctx).partner });

const SELECT_LINKAGE = `SELECT l.*, ${OUTCOME_COLUMN} FROM hub.linkage l LEFT JOIN hub.linkage_outcome o ON o.linkage_id = l.id WHERE l.id = $1`;

/**
 * A business key is the workflow id Temporal shows in clear (its payloads are encrypted, its id
 * is not), and goes in events and lists: it may not be a person's identity number.
 */
function refusePersonalKey(type: LinkageType, businessKey: string): void {
  if ((businessKey.match(/\d{17}[\dX]/g) ?? []).some(isResidentId))
    throw new HubError(
      "HUB_ERR_REQUEST_INVALID",
      `A ${type} application number may not hold a resident identity number: it names the linkage in clear (workflow id, lists, events). Use a number of your own`,
    );
}

/** Records the linkage once, in `tx`; its `linkages.linkage.started` event commits with it. */
export async function recordLinkage(tx: Queryable, type: LinkageType, businessKey: string, caller: Caller): Promise<LinkageRow> {
  refusePersonalKey(type, businessKey);
  const workflowId = workflowIdOf(type, businessKey);
  const id = linkageIdOf(workflowId);
  const { requestId, partnerId } = caller;
  const inserted = await tx.query(
    `INSERT INTO hub.linkage (id, type, business_key, workflow_id, request_id, partner_id) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (type, business_key) DO NOTHING RETURNING id`,
    [id, type, businessKey, workflowId, requestId ?? null, partnerId ?? null],
  );
  if (inserted.length) {
    const started = createEvent(
      "linkages.linkage.started",
      { linkageId: id, linkageType: type, businessKey },
      { source: "linkages", subject: id, id: `linkage-started:${id}`, requestId, partnerId, linkageId: id },
    );
    await enqueue(tx, started);
    linkagesStarted.inc({ linkage_type: type });
  }
  const [row] = await tx.query<LinkageRow>(SELECT_LINKAGE, [id]);
  // Another partner's application under the same key is not theirs to see.
  if (partnerId && row!.partner_id !== partnerId)
    throw new HubError("HUB_ERR_BUSINESS_KEY_TAKEN", `The ${type} ${businessKey} belongs to another partner; use a key of your own`);
  return row!;
}

/** The linkage, if the caller may see it: a partner sees its own; internal callers see all. */
export async function findLinkage(db: Queryable, id: string, caller: Caller): Promise<LinkageRow> {
  const [row] = await db.query<LinkageRow>(SELECT_LINKAGE, [id]);
  if (!row || (caller.partnerId && row.partner_id !== caller.partnerId)) throw new HubError("HUB_ERR_LINKAGE_NOT_FOUND", `No linkage ${id}`);
  return row;
}
