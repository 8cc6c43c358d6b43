/**
 * The `linkages` service: starts linkage workflows for REST and NATS callers and for the events
 * that start them (triggers.ts; crowd-dispatch.ts for crowd level changes), passes signals and cancellations on, and reports where each
 * linkage stands (status.ts, list.ts). The workflow id is the business key and the linkage id
 * is derived from it (workflow-ids.ts), so the same application started twice is one linkage.
 */
import type { Client } from "@temporalio/client";
import type { Context, ServiceSchema } from "moleculer";
import { actionContract } from "../../contracts";
import type { components } from "../../contracts/generated/types";
import { metaOf } from "../../platform/call-meta";
import { HubError } from "../../platform/errors";
import { startConsumer, type RunningConsumer } from "../../platform/events/consumer";
import type { HubNode } from "../../platform/hub-node";
import { temporal } from "../../platform/temporal";
import { PARTNER_SIGNALS } from "../linkages/signals";
import { PROGRESS_MEMO, type Progress } from "../linkages/visibility";
import { countLinkagesWith } from "../metrics";
import { ensureSearchAttributes, launch, type WorkflowName } from "./launch";
import { listLinkages } from "./list";
import { checkDocumentSignal, startPermit } from "./permits";
import { assertRunning, linkageStatus } from "./status";
import { callerOf, findLinkage, recordLinkage, type LinkageRow } from "./store";
import { linkageTriggers, TRIGGERS } from "./triggers";
import { crowdDispatchTrigger, DISPATCH_TRIGGERS } from "./crowd-dispatch";

type Schemas = components["schemas"];
type Linkage = Schemas["Linkage"];

/** The id numbers a linkage's result names (an e-ID's holder, a couple), for the audit log. */
function idNumbersIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(idNumbersIn);
  if (!value || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => (k === "idNumber" && typeof v === "string" ? [v] : idNumbersIn(v)));
}

const linkageAction = (params: string) => actionContract(params, "Linkage");

interface Deps {
  node: HubNode;
  client: Client;
}

async function start(
  { node, client }: Deps,
  type: Schemas["LinkageType"],
  workflow: WorkflowName,
  businessKey: string,
  ctx: Context<object>,
): Promise<Linkage> {
  const row = await node.db.transaction((tx) => recordLinkage(tx, type, businessKey, callerOf(ctx)));
  // Returned to the caller with the answer (Moleculer merges meta back): its log line names the linkage.
  metaOf(ctx).linkageId = row.id;
  node.outbox.kick();
  await launch(client, node.config, row, workflow, ctx.params, ctx.requestID);
  return linkageStatus(client, row);
}

/** The caller's linkage (see findLinkage), named in the call's meta; `running` refuses one that has ended. */
async function theirs({ node, client }: Deps, ctx: Context<{ id: string }>, running = false): Promise<LinkageRow> {
  const row = await findLinkage(node.db, ctx.params.id, callerOf(ctx));
  metaOf(ctx).linkageId = row.id;
  if (running) await assertRunning(client, row);
  return row;
}

async function signal(deps: Deps, ctx: Context<Schemas["LinkageSignalParams"]>): Promise<Linkage> {
  const row = await theirs(deps, ctx, true);
  const { signal, reason } = ctx.params;
  const taken = PARTNER_SIGNALS[row.type] ?? [];
  if (!taken.includes(signal))
    throw new HubError(
      "HUB_ERR_LINKAGE_SIGNAL",
      `A ${row.type} linkage takes ${taken.length ? taken.map((s) => `"${s}"`).join(" or ") : "no signal"}, not "${signal}"`,
    );
  const handle = deps.client.workflow.getHandle(row.workflow_id);
  // A document goes to an application waiting for it, by its name: checked against where the linkage stands now.
  const payload =
    signal === "document" ? checkDocumentSignal(ctx.params, (await handle.describe()).memo?.[PROGRESS_MEMO] as Progress) : reason ? { reason } : {};
  await handle.signal(signal, payload);
  return linkageStatus(deps.client, row);
}

async function cancel(deps: Deps, ctx: Context<Schemas["LinkageRef"]>): Promise<Linkage> {
  const row = await theirs(deps, ctx, true);
  await deps.client.workflow.getHandle(row.workflow_id).cancel();
  return linkageStatus(deps.client, row);
}

export function linkagesService(node: HubNode): ServiceSchema {
  const { config } = node;
  const { client, connection } = temporal(config);
  const deps: Deps = { node, client };
  let triggers: RunningConsumer | undefined;
  let dispatches: RunningConsumer | undefined;
  return {
    name: "linkages",
    actions: {
      "eidIssuance.start": {
        ...linkageAction("EidIssuanceRequest"),
        audit: (p: { idNumber: string }) => [p.idNumber],
        handler: (ctx: Context<Schemas["EidIssuanceRequest"]>) => start(deps, "eid-issuance", "eidIssuance", ctx.params.applicationNo, ctx),
      },
      "marriage.start": {
        ...linkageAction("MarriageRegistrationRequest"),
        audit: (p: { applicants: { idNumber: string }[] }) => p.applicants.map((a) => a.idNumber),
        handler: (ctx: Context<Schemas["MarriageRegistrationRequest"]>) =>
          start(deps, "marriage-registration", "marriageRegistration", ctx.params.applicationNo, ctx),
      },
      "eventPermit.start": {
        ...linkageAction("EventPermitRequest"),
        // The organiser's contact is the personal data the application brings.
        audit: (p: { organiser?: { email?: string } }) => [p.organiser?.email?.toLowerCase()],
        handler: (ctx: Context<Schemas["EventPermitRequest"]>) => startPermit(node, client, ctx),
      },
      "status.get": {
        ...linkageAction("LinkageRef"),
        audit: (_p: unknown, r?: Linkage) => idNumbersIn(r?.result),
        handler: async (ctx: Context<Schemas["LinkageRef"]>) => linkageStatus(client, await theirs(deps, ctx)),
      },
      signal: { ...linkageAction("LinkageSignalParams"), handler: (ctx: Context<Schemas["LinkageSignalParams"]>) => signal(deps, ctx) },
      list: {
        ...actionContract("LinkageListParams", "LinkagePage"),
        handler: (ctx: Context<Schemas["LinkageListParams"]>) => listLinkages(config, ctx.params, callerOf(ctx).partnerId),
      },
      cancel: { ...linkageAction("LinkageRef"), handler: (ctx: Context<Schemas["LinkageRef"]>) => cancel(deps, ctx) },
    },
    async started() {
      await ensureSearchAttributes(connection, config.temporalNamespace);
      countLinkagesWith(async (query) => Number((await client.workflow.count(query)).count));
      const handle = linkageTriggers({ client, config });
      const onError = (err: unknown) => this.logger.warn({ err: String(err) }, "linkage trigger failed");
      triggers = await startConsumer(node.bus, node.db, { group: "linkages", types: TRIGGERS, handle }, { onError });
      // A group of its own: a flood of crowd level changes does not hold up the other linkages' events.
      dispatches = await startConsumer(
        node.bus,
        node.db,
        { group: "crowd-dispatch", types: DISPATCH_TRIGGERS, handle: crowdDispatchTrigger({ client, config }) },
        { onError: (err) => this.logger.warn({ err: String(err) }, "crowd dispatch trigger failed") },
      );
    },
    async stopped() {
      countLinkagesWith(undefined);
      await triggers?.stop();
      await dispatches?.stop();
    },
  };
}
