/**
 * The `linkages` service: starts linkage workflows on Temporal, for REST callers and for the
 * events that start them (an incident reported, a household moved), passes signals and
 * cancellations on, and reports where each linkage stands. The workflow id is the business
 * key and the linkage id (the UUID a partner sees) is derived from it, so the same
 * application started twice is one linkage, one run.
 */
import { createHash } from "node:crypto";
import type { Context, ServiceSchema } from "moleculer";
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError, type WorkflowExecutionDescription } from "@temporalio/client";
import { temporal as temporalProto } from "@temporalio/proto";
import { defaultPayloadConverter } from "@temporalio/common";
import { tsToDate } from "@temporalio/common/lib/time";
import { contractSchema } from "../../contracts";
import type { components } from "../../contracts/generated/types";
import { metaOf } from "../../platform/call-meta";
import { HubError } from "../../platform/errors";
import type { HubNode } from "../../platform/hub-node";
import type { AuditLog } from "../../audit/log";
import type { Queryable } from "../../platform/db";
import { temporal } from "../../platform/temporal";
import { nameBasedUuid } from "../../platform/ids";
import { createEvent, type CloudEvent } from "../../platform/events/envelope";
import { enqueue } from "../../platform/events/outbox";
import { startConsumer, type RunningConsumer } from "../../platform/events/consumer";
import { LINKAGE_PARTNER, LINKAGE_STATUS, LINKAGE_TYPE, PROGRESS_MEMO, SEARCH_ATTRIBUTES, type LinkageOutcome, type Progress } from "../linkages/visibility";
import { PARTNER_SIGNALS, incidentAlert } from "../linkages/signals";
import { servicesAtRisk } from "../linkages/hazards";
import { bodyHash, canonical } from "../../audit/chain";
import { countLinkagesWith, linkagesStarted } from "../metrics";
import type * as workflows from "../linkages/index";
import type { IncidentInput } from "../linkages/incident-utilities";
import type { RelocationInput } from "../linkages/resident-relocation";

type Schemas = components["schemas"];
type Linkage = Schemas["Linkage"];
type LinkageType = Schemas["LinkageType"];

interface LinkageRow {
  id: string;
  type: LinkageType;
  business_key: string;
  workflow_id: string;
  partner_id: string | null;
  created_at: Date | string;
}

/** Who asks: the partner behind a REST call (the gateway puts it in meta), or an internal caller. */
interface Caller {
  requestId?: string | null;
  partnerId?: string | null;
}
const callerOf = (ctx: Context): Caller => ({ requestId: ctx.requestID, partnerId: metaOf(ctx).partner });

const Status = temporalProto.api.enums.v1.WorkflowExecutionStatus;

/** The id numbers a linkage's result names (an e-ID's holder, a couple), for the audit log. */
function idNumbersIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(idNumbersIn);
  if (!value || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => (k === "idNumber" && typeof v === "string" ? [v] : idNumbersIn(v)));
}

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

/** The events that start or signal linkages. */
const TRIGGERS = ["emergency.incident.reported", "emergency.incident.updated", "emergency.incident.cleared", "civil-registry.household.address-changed"];

export function linkagesService(node: HubNode, audit: AuditLog): ServiceSchema {
  const { db, config } = node;
  const { client } = temporal(config);
  let consumer: RunningConsumer | undefined;

  /** Records the linkage once, in the caller's transaction; its `linkages.linkage.started` event commits with it. */
  async function record(tx: Queryable, type: LinkageType, businessKey: string, caller: Caller): Promise<LinkageRow> {
    const id = nameBasedUuid(`${type}:${businessKey}`);
    const { requestId, partnerId } = caller;
    const inserted = await tx.query(
      `INSERT INTO hub.linkage (id, type, business_key, workflow_id, request_id, partner_id) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (type, business_key) DO NOTHING RETURNING id`,
      [id, type, businessKey, `${type}:${businessKey}`, requestId ?? null, partnerId ?? null],
    );
    if (inserted.length)
      await enqueue(
        tx,
        createEvent(
          "linkages.linkage.started",
          { linkageId: id, linkageType: type, businessKey },
          { source: "linkages", subject: id, id: `linkage-started:${id}`, requestId, partnerId, linkageId: id },
        ),
      );
    if (inserted.length) linkagesStarted.inc({ linkage_type: type });
    const [row] = await tx.query<LinkageRow>("SELECT * FROM hub.linkage WHERE id = $1", [id]);
    // Another partner's application under the same key is not theirs to see.
    if (partnerId && row!.partner_id !== partnerId)
      throw new HubError("HUB_ERR_BUSINESS_KEY_TAKEN", `The ${type} ${businessKey} belongs to another partner; use a key of your own`);
    return row!;
  }

  /** Starts the linkage's workflow unless it already runs or ran (a repeat starts nothing). */
  async function launch(row: LinkageRow, workflow: keyof typeof workflows, params: object, requestId: string | null | undefined): Promise<void> {
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

  async function start(type: LinkageType, workflow: keyof typeof workflows, businessKey: string, params: object, ctx: Context): Promise<Linkage> {
    const row = await db.transaction((tx) => record(tx, type, businessKey, callerOf(ctx)));
    // Returned to the caller with the answer (Moleculer merges meta back): its log line names the linkage.
    metaOf(ctx).linkageId = row.id;
    node.outbox.kick();
    await launch(row, workflow, params, ctx.requestID);
    return status(row);
  }

  async function describe(row: LinkageRow): Promise<WorkflowExecutionDescription | undefined> {
    try {
      return await client.workflow.getHandle(row.workflow_id).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  async function status(row: LinkageRow): Promise<Linkage> {
    const handle = client.workflow.getHandle(row.workflow_id);
    const base = { id: row.id, type: row.type, businessKey: row.business_key, createdAt: new Date(row.created_at).toISOString() };
    const described = await describe(row);
    // Recorded but not yet started (the start is retried by the next identical request).
    if (!described) return { ...base, status: "RUNNING", currentStep: null, stepsDone: [] };
    const closedAt = described.closeTime?.toISOString();
    switch (described.status.name) {
      case "RUNNING": {
        // From the progress memo, not a query: it needs no live worker.
        const progress = (described.memo?.[PROGRESS_MEMO] as Progress | undefined) ?? { currentStep: null, stepsDone: [] };
        return { ...base, status: "RUNNING", ...progress };
      }
      case "COMPLETED": {
        const { result, ...rest } = (await handle.result()) as LinkageOutcome;
        return { ...base, ...rest, closedAt, ...(result ? { result: { ...result } } : {}) };
      }
      case "CANCELLED":
        return { ...base, status: "CANCELLED", currentStep: null, stepsDone: [], closedAt };
      case "FAILED": {
        const progress = (described.memo?.[PROGRESS_MEMO] as Progress | undefined) ?? { stepsDone: [] };
        const reason = await handle.result().then(
          () => "the workflow failed",
          (err) => (err instanceof WorkflowFailedError && err.cause ? err.cause.message : String(err)),
        );
        return { ...base, status: "FAILED", currentStep: null, stepsDone: progress.stepsDone, closedAt, reason };
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

  /** The linkage, if the caller may see it: a partner sees its own; internal callers see all. */
  async function find(id: string, ctx: Context): Promise<LinkageRow> {
    const [row] = await db.query<LinkageRow>("SELECT * FROM hub.linkage WHERE id = $1", [id]);
    const { partnerId } = callerOf(ctx);
    if (!row || (partnerId && row.partner_id !== partnerId)) throw new HubError("HUB_ERR_LINKAGE_NOT_FOUND", `No linkage ${id}`);
    metaOf(ctx).linkageId = row.id;
    return row;
  }

  /** A running linkage's row; an ended one is a conflict. */
  async function running(id: string, ctx: Context): Promise<LinkageRow> {
    const row = await find(id, ctx);
    const described = await describe(row);
    if (described && described.status.name !== "RUNNING")
      throw new HubError("HUB_ERR_LINKAGE_CLOSED", `Linkage ${id} has ended (${described.status.name.toLowerCase()}); it takes no signal or cancellation`);
    return row;
  }

  /** A page of the caller's linkages from Temporal's visibility store, in its order: running ones first, then by close time, newest first. */
  async function list(params: Schemas["LinkageListParams"], ctx: Context): Promise<Schemas["LinkagePage"]> {
    const quote = (v: string) => `"${v.replace(/["\\]/g, "")}"`;
    const clauses: string[] = [];
    const { partnerId } = callerOf(ctx);
    if (partnerId) clauses.push(`LinkagePartner = ${quote(partnerId)}`);
    if (params.type) clauses.push(`LinkageType = ${quote(params.type)}`);
    else clauses.push(`LinkageType IS NOT NULL`);
    if (params.status) clauses.push(STATUS_QUERY[params.status]);
    const query = clauses.join(" AND ");
    const nextPageToken = params.cursor ? readCursor(params.cursor, query) : undefined;
    // Temporal retries some errors for long; a page answers within seconds or not at all.
    const response = await temporal(config).connection.withDeadline(Date.now() + 8000, () =>
      client.workflowService.listWorkflowExecutions({ namespace: config.temporalNamespace, query, pageSize: params.limit ?? 20, nextPageToken }),
    );
    const items = response.executions.map((raw) => {
      const memo = (name: string) => (raw.memo?.fields?.[name] ? defaultPayloadConverter.fromPayload(raw.memo.fields[name]!) : undefined);
      const attr = (name: string) => {
        const v = raw.searchAttributes?.indexedFields?.[name]
          ? defaultPayloadConverter.fromPayload<unknown>(raw.searchAttributes.indexedFields[name]!)
          : undefined;
        return Array.isArray(v) ? String(v[0]) : v === undefined ? undefined : String(v);
      };
      const workflowId = raw.execution!.workflowId!;
      const type = workflowId.slice(0, workflowId.indexOf(":")) as LinkageType;
      const status = listedStatus(raw.status ?? 0, attr(LINKAGE_STATUS.name));
      const progress = memo(PROGRESS_MEMO) as Progress | undefined;
      const closeTime = raw.closeTime ? tsToDate(raw.closeTime) : undefined;
      return {
        id: String(memo("linkageId") ?? nameBasedUuid(workflowId)),
        type,
        businessKey: workflowId.slice(type.length + 1),
        status,
        currentStep: status === "RUNNING" ? (progress?.currentStep ?? null) : null,
        createdAt: tsToDate(raw.startTime!).toISOString(),
        ...(closeTime ? { closedAt: closeTime.toISOString() } : {}),
      };
    });
    return { items, next: response.nextPageToken?.length ? writeCursor(Buffer.from(response.nextPageToken), query) : null };
  }

  /** Starts the linkage an event calls for, or passes the event to the running one. */
  async function onEvent(event: CloudEvent, tx: Queryable): Promise<void> {
    if (event.type === "civil-registry.household.address-changed") {
      const change = event.data as Schemas["HouseholdAddressChangedEvent"];
      await audit.record(
        {
          operation: `event:${event.type}`,
          outcome: "OK",
          requestId: event.requestid,
          partnerId: event.partnerid,
          subjects: change.idNumbers,
          requestHash: bodyHash(canonical(event)),
        },
        tx,
      );
      const row = await record(tx, "resident-relocation", change.changeNo, { requestId: event.requestid, partnerId: event.partnerid });
      return launch(row, "residentRelocation", change satisfies Omit<RelocationInput, "linkageId">, event.requestid);
    }
    const incident = event.data as Schemas["IncidentEvent"];
    const businessKey = `${incident.sender},${incident.firstIdentifier}`;
    if (event.type === "emergency.incident.reported") {
      if (servicesAtRisk(incident).length === 0) return;
      const row = await record(tx, "incident-utilities", businessKey, { requestId: event.requestid, partnerId: event.partnerid });
      const { incidentId, sender, firstIdentifier, event: what, category, address } = incident;
      const input: Omit<IncidentInput, "linkageId"> = {
        incidentId,
        sender,
        firstIdentifier,
        event: what,
        category,
        suspensionDeadlineMs: config.suspensionDeadlineMs,
        ...(address ? { address } : {}),
      };
      return launch(row, "incidentUtilities", input, event.requestid);
    }
    // An update, cancel or all-clear alert reaches the incident's linkage, if it has one running.
    try {
      await client.workflow.getHandle(`incident-utilities:${businessKey}`).signal(incidentAlert, incident);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
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
      countLinkagesWith(async (query) => Number((await client.workflow.count(query)).count));
      const log = this.logger;
      consumer = await startConsumer(
        node.bus,
        db,
        { group: "linkages", types: TRIGGERS, handle: onEvent },
        { onError: (err) => log.warn({ err: String(err) }, "linkage trigger failed") },
      );
    },
    async stopped() {
      countLinkagesWith(undefined);
      await consumer?.stop();
    },
    actions: {
      "eidIssuance.start": {
        audit: (p: { idNumber: string }) => [p.idNumber],
        params: contractSchema("EidIssuanceRequest"),
        result: contractSchema("Linkage"),
        handler: (ctx: Context<Schemas["EidIssuanceRequest"]>) => start("eid-issuance", "eidIssuance", ctx.params.applicationNo, ctx.params, ctx),
      },
      "marriage.start": {
        audit: (p: { applicants: { idNumber: string }[] }) => p.applicants.map((a) => a.idNumber),
        params: contractSchema("MarriageRegistrationRequest"),
        result: contractSchema("Linkage"),
        handler: (ctx: Context<Schemas["MarriageRegistrationRequest"]>) =>
          start("marriage-registration", "marriageRegistration", ctx.params.applicationNo, ctx.params, ctx),
      },
      "status.get": {
        audit: (_p: unknown, r?: Linkage) => idNumbersIn(r?.result),
        params: contractSchema("LinkageRef"),
        result: contractSchema("Linkage"),
        handler: async (ctx: Context<Schemas["LinkageRef"]>) => status(await find(ctx.params.id, ctx)),
      },
      signal: {
        params: contractSchema("LinkageSignalParams"),
        result: contractSchema("Linkage"),
        async handler(ctx: Context<Schemas["LinkageSignalParams"]>): Promise<Linkage> {
          const { id, signal, reason } = ctx.params;
          const row = await running(id, ctx);
          const taken = PARTNER_SIGNALS[row.type] ?? [];
          if (!taken.includes(signal))
            throw new HubError(
              "HUB_ERR_LINKAGE_SIGNAL",
              `A ${row.type} linkage takes ${taken.length ? taken.map((s) => `"${s}"`).join(" or ") : "no signal"}, not "${signal}"`,
            );
          await client.workflow.getHandle(row.workflow_id).signal(signal, reason ? { reason } : {});
          return status(row);
        },
      },
      list: {
        params: contractSchema("LinkageListParams"),
        result: contractSchema("LinkagePage"),
        handler: (ctx: Context<Schemas["LinkageListParams"]>) => list(ctx.params, ctx),
      },
      cancel: {
        params: contractSchema("LinkageRef"),
        result: contractSchema("Linkage"),
        async handler(ctx: Context<Schemas["LinkageRef"]>): Promise<Linkage> {
          const row = await running(ctx.params.id, ctx);
          await client.workflow.getHandle(row.workflow_id).cancel();
          return status(row);
        },
      },
    },
  };
}
