/**
 * A partner's linkages, a page at a time, from Temporal's visibility store in its order:
 * running ones first, then by close time, newest first.
 */
import { createHash } from "node:crypto";
import { defaultPayloadConverter } from "@temporalio/common";
import { tsToDate } from "@temporalio/common/lib/time";
import { temporal as temporalProto } from "@temporalio/proto";
import type { components } from "../../contracts/generated/types";
import type { Config } from "../../platform/config";
import { HubError } from "../../platform/errors";
import { decodeMemo, PayloadIntegrityError, UnknownPayloadKeyError } from "../../platform/payload-codec";
import { temporal } from "../../platform/temporal";
import { LINKAGE_STATUS, PROGRESS_MEMO, type Progress } from "../linkages/visibility";
import { linkageIdOf, parseWorkflowId } from "../workflow-ids";

type Schemas = components["schemas"];
type Execution = temporalProto.api.workflow.v1.IWorkflowExecutionInfo;

const Status = temporalProto.api.enums.v1.WorkflowExecutionStatus;

/** Visibility queries for each status a partner may list by (LinkageStatus is what the workflow recorded). */
const STATUS_QUERY: Record<Schemas["LinkageStatus"], string> = {
  RUNNING: `ExecutionStatus = "Running"`,
  COMPLETED: `ExecutionStatus = "Completed" AND LinkageStatus = "COMPLETED"`,
  REFUSED: `ExecutionStatus = "Completed" AND LinkageStatus = "REFUSED"`,
  CANCELLED: `(ExecutionStatus = "Canceled" OR (ExecutionStatus = "Completed" AND LinkageStatus = "COMPENSATED"))`,
  FAILED: `ExecutionStatus IN ("Failed", "Terminated", "TimedOut")`,
};

/**
 * Cursors are Temporal's page tokens with a check of their own (over the token and the query
 * it pages), so a made-up or borrowed cursor names no page (404) here, not a puzzle for Temporal.
 */
const cursorCheck = (token: Buffer, query: string) => createHash("sha256").update(query).update(token).digest().subarray(0, 8);
const writeCursor = (token: Buffer, query: string) => Buffer.concat([cursorCheck(token, query), token]).toString("base64url");
function readCursor(cursor: string, query: string): Buffer {
  const raw = Buffer.from(cursor, "base64url");
  const token = raw.subarray(8);
  if (raw.length <= 8 || !cursorCheck(token, query).equals(raw.subarray(0, 8)))
    throw new HubError("HUB_ERR_PAGE_NOT_FOUND", "No such page: the cursor is not the `next` of a page of this same list");
  return token;
}

function listedStatus(execution: number, recorded: string | undefined): Schemas["LinkageStatus"] {
  if (execution === Status.WORKFLOW_EXECUTION_STATUS_RUNNING) return "RUNNING";
  if (execution === Status.WORKFLOW_EXECUTION_STATUS_CANCELED) return "CANCELLED";
  if (execution !== Status.WORKFLOW_EXECUTION_STATUS_COMPLETED) return "FAILED";
  return recorded === "REFUSED" ? "REFUSED" : recorded === "COMPENSATED" ? "CANCELLED" : "COMPLETED";
}

function queryOf(params: Schemas["LinkageListParams"], partnerId: string | null | undefined): string {
  const quote = (v: string) => `"${v.replace(/["\\]/g, "")}"`;
  const clauses: string[] = [];
  if (partnerId) clauses.push(`LinkagePartner = ${quote(partnerId)}`);
  clauses.push(params.type ? `LinkageType = ${quote(params.type)}` : `LinkageType IS NOT NULL`);
  if (params.status) clauses.push(STATUS_QUERY[params.status]);
  return clauses.join(" AND ");
}

/** One listed linkage: its memo (encrypted like every payload) decoded through the client's codec; search attributes are never encrypted. */
function itemOf(raw: Execution, memos: Record<string, unknown>): Schemas["LinkagePage"]["items"][number] {
  const memo = (name: string) => memos[name];
  const attr = (name: string) => {
    const field = raw.searchAttributes?.indexedFields?.[name];
    const v = field ? defaultPayloadConverter.fromPayload<unknown>(field) : undefined;
    return Array.isArray(v) ? String(v[0]) : v === undefined ? undefined : String(v);
  };
  const workflowId = raw.execution!.workflowId!;
  const { type, businessKey } = parseWorkflowId(workflowId);
  const status = listedStatus(raw.status ?? 0, attr(LINKAGE_STATUS.name));
  const progress = memo(PROGRESS_MEMO) as Progress | undefined;
  const closeTime = raw.closeTime ? tsToDate(raw.closeTime) : undefined;
  return {
    id: String(memo("linkageId") ?? linkageIdOf(workflowId)),
    type,
    businessKey,
    status,
    currentStep: status === "RUNNING" ? (progress?.currentStep ?? null) : null,
    createdAt: tsToDate(raw.startTime!).toISOString(),
    ...(closeTime ? { closedAt: closeTime.toISOString() } : {}),
  };
}

export async function listLinkages(
  config: Config,
  params: Schemas["LinkageListParams"],
  partnerId: string | null | undefined,
): Promise<Schemas["LinkagePage"]> {
  const query = queryOf(params, partnerId);
  const nextPageToken = params.cursor ? readCursor(params.cursor, query) : undefined;
  const { connection, client } = temporal(config);
  // Temporal retries some errors for long; a page answers within seconds or not at all.
  const response = await connection.withDeadline(Date.now() + 8000, () =>
    client.workflowService.listWorkflowExecutions({ namespace: config.temporalNamespace, query, pageSize: params.limit ?? 20, nextPageToken }),
  );
  // A memo under a key this node lacks costs that item its current step, not the page.
  const memos = await Promise.all(
    response.executions.map((raw) =>
      decodeMemo(client, raw.memo?.fields).catch((err: Error) => {
        if (err instanceof UnknownPayloadKeyError || err instanceof PayloadIntegrityError) return {};
        throw err;
      }),
    ),
  );
  return {
    items: response.executions.map((raw, i) => itemOf(raw, memos[i]!)),
    next: response.nextPageToken?.length ? writeCursor(Buffer.from(response.nextPageToken), query) : null,
  };
}
