/**
 * The `linkages` service: starts linkage workflows on Temporal and reports where they
 * stand. The workflow id is the business key and the linkage id (the UUID a partner sees)
 * is derived from it, so the same application started twice is one linkage, one run.
 */
import type { Context, ServiceSchema } from "moleculer";
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type WorkflowExecutionDescription } from "@temporalio/client";
import { contractSchema } from "../contracts";
import type { components } from "../contracts/generated/types";
import { HubError } from "../platform/errors";
import type { HubNode } from "../platform/node";
import { temporal } from "../platform/temporal";
import { nameBasedUuid } from "../platform/ids";
import { createEvent } from "../platform/events/envelope";
import { enqueue } from "../platform/events/outbox";
import { LINKAGE_PARTNER, LINKAGE_STATUS, LINKAGE_TYPE, PROGRESS_MEMO, SEARCH_ATTRIBUTES, type LinkageOutcome, type Progress } from "./visibility";
import type * as workflows from "./index";
import { temporal as temporalProto } from "@temporalio/proto";

type Schemas = components["schemas"];
type Linkage = Schemas["Linkage"];

interface LinkageRow {
  id: string;
  type: Linkage["type"];
  business_key: string;
  workflow_id: string;
  created_at: Date | string;
}

export function linkagesService(node: HubNode): ServiceSchema {
  const { db, config } = node;
  const { client } = temporal(config);

  /** Records the linkage once; its `linkages.linkage.started` event commits with the record. */
  async function record(type: string, businessKey: string, requestId: string | null): Promise<LinkageRow> {
    const id = nameBasedUuid(`${type}:${businessKey}`);
    const created = await db.transaction(async (tx) => {
      const inserted = await tx.query(
        `INSERT INTO hub.linkage (id, type, business_key, workflow_id, request_id) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (type, business_key) DO NOTHING RETURNING id`,
        [id, type, businessKey, `${type}:${businessKey}`, requestId],
      );
      if (inserted.length)
        await enqueue(tx, createEvent("linkages.linkage.started", { linkageId: id, linkageType: type, businessKey }, { source: "linkages", subject: id, id: `linkage-started:${id}`, requestId, linkageId: id }));
      return inserted.length > 0;
    });
    if (created) node.outbox.kick();
    const [row] = await db.query<LinkageRow>("SELECT * FROM hub.linkage WHERE id = $1", [id]);
    return row!;
  }

  async function status(row: LinkageRow): Promise<Linkage> {
    const handle = client.workflow.getHandle(row.workflow_id);
    const base = { id: row.id, type: row.type, businessKey: row.business_key, createdAt: new Date(row.created_at).toISOString() };
    let described: WorkflowExecutionDescription;
    try {
      described = await handle.describe();
    } catch (err) {
      // Recorded but not yet started (the start is retried by the next identical request).
      if (err instanceof WorkflowNotFoundError) return { ...base, status: "RUNNING", currentStep: null, stepsDone: [] };
      throw err;
    }
    const closedAt = described.closeTime?.toISOString();
    switch (described.status.name) {
      case "RUNNING": {
        // From the progress memo, not a query: it needs no live worker.
        const progress = (described.memo?.[PROGRESS_MEMO] as Progress | undefined) ?? { currentStep: null, stepsDone: [] };
        return { ...base, status: "RUNNING", ...progress };
      }
      case "COMPLETED": {
        const outcome = (await handle.result()) as LinkageOutcome;
        const { result, ...rest } = outcome;
        return { ...base, ...rest, closedAt, ...(result ? { result: { ...result } } : {}) };
      }
      case "CANCELLED":
        return { ...base, status: "CANCELLED", currentStep: null, stepsDone: [], closedAt };
      default:
        return { ...base, status: "FAILED", currentStep: null, stepsDone: [], closedAt, reason: `the workflow ${described.status.name.toLowerCase().replace(/_/g, " ")}` };
    }
  }

  /** Records the linkage and starts its workflow; a repeat finds both and starts nothing. */
  async function start(type: string, workflow: keyof typeof workflows, businessKey: string, params: object, ctx: Context): Promise<Linkage> {
    const row = await record(type, businessKey, ctx.requestID);
    try {
      await client.workflow.start(workflow, {
        workflowId: row.workflow_id,
        taskQueue: config.temporalTaskQueue,
        args: [{ ...params, linkageId: row.id }] as never,
        workflowIdConflictPolicy: "USE_EXISTING",
        workflowIdReusePolicy: "REJECT_DUPLICATE",
        memo: { linkageId: row.id, requestId: ctx.requestID },
        typedSearchAttributes: [
          { key: LINKAGE_TYPE, value: type },
          { key: LINKAGE_PARTNER, value: config.defaultPartner },
          { key: LINKAGE_STATUS, value: "RUNNING" },
        ],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return status(row);
  }

  return {
    name: "linkages",
    async started() {
      // The dev stack registers them at start; a Temporal of someone else's gets them here.
      const { connection } = temporal(config);
      const known = await connection.operatorService.listSearchAttributes({ namespace: config.temporalNamespace });
      const missing = SEARCH_ATTRIBUTES.filter((name) => !(name in (known.customAttributes ?? {})));
      if (missing.length)
        await connection.operatorService.addSearchAttributes({
          namespace: config.temporalNamespace,
          searchAttributes: Object.fromEntries(missing.map((name) => [name, temporalProto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
        });
    },
    actions: {
      "eidIssuance.start": {
        params: contractSchema("EidIssuanceRequest"),
        result: contractSchema("Linkage"),
        handler: (ctx: Context<Schemas["EidIssuanceRequest"]>) => start("eid-issuance", "eidIssuance", ctx.params.applicationNo, ctx.params, ctx),
      },
      "marriage.start": {
        params: contractSchema("MarriageRegistrationRequest"),
        result: contractSchema("Linkage"),
        handler: (ctx: Context<Schemas["MarriageRegistrationRequest"]>) => start("marriage-registration", "marriageRegistration", ctx.params.applicationNo, ctx.params, ctx),
      },
      "status.get": {
        params: contractSchema("LinkageRef"),
        result: contractSchema("Linkage"),
        async handler(ctx: Context<Schemas["LinkageRef"]>): Promise<Linkage> {
          const [row] = await db.query<LinkageRow>("SELECT * FROM hub.linkage WHERE id = $1", [ctx.params.id]);
          if (!row) throw new HubError("HUB_ERR_LINKAGE_NOT_FOUND", `No linkage ${ctx.params.id}`);
          return status(row);
        },
      },
    },
  };
}
