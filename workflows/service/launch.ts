/**
 * Starting a linkage's workflow on Temporal: once per business key (a repeat starts nothing),
 * with the linkage id in its memo and the search attributes it is listed and counted by.
 */
import type { Client, Connection } from "@temporalio/client";
import { WorkflowExecutionAlreadyStartedError } from "@temporalio/client";
import { temporal as temporalProto } from "@temporalio/proto";
import type { Config } from "../../platform/config";
import type * as workflows from "../linkages";
import { LINKAGE_PARTNER, LINKAGE_STATUS, LINKAGE_TYPE, SEARCH_ATTRIBUTES } from "../linkages/visibility";
import type { LinkageRow } from "./store";

export type WorkflowName = keyof typeof workflows;

/** Starts the linkage's workflow unless it already runs or ran (its outcome stored: Temporal may have dropped the closed workflow since). */
export async function launch(
  client: Client,
  config: Config,
  row: LinkageRow,
  workflow: WorkflowName,
  params: object,
  requestId?: string | null,
): Promise<void> {
  if (row.outcome) return;
  try {
    await client.workflow.start(workflow, {
      workflowId: row.workflow_id,
      taskQueue: config.temporalTaskQueue,
      args: [{ ...params, linkageId: row.id }] as never,
      workflowIdConflictPolicy: "USE_EXISTING",
      workflowIdReusePolicy: "REJECT_DUPLICATE",
      memo: { linkageId: row.id, requestId },
      typedSearchAttributes: [
        { key: LINKAGE_TYPE, value: row.type },
        { key: LINKAGE_PARTNER, value: row.partner_id ?? config.defaultPartner },
        { key: LINKAGE_STATUS, value: "RUNNING" },
      ],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/** Registers the search attributes a Temporal of someone else's lacks (the dev stack registers them at start). */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const known = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTES.filter((name) => !(name in (known.customAttributes ?? {})));
  if (missing.length)
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, temporalProto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
    });
}
