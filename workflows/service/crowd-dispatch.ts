/**
 * The crowd-dispatch trigger: the consumer group `crowd-dispatch` takes `crowd.level.changed`.
 * A place reaching `critical` starts its dispatch linkage unless one runs for the place, which
 * is signalled instead; lower levels signal the running one (and start nothing). The place's
 * linkage is kept in hub.crowd_dispatch, read and written under a transaction-scoped advisory
 * lock per place, and cleared at the first change after that linkage ended: two hub nodes handling events of one place at once start one linkage, and
 * a count hovering around a threshold (critical, warning, critical...) starts no second one
 * while the first runs. Each event is handled once, in the consumer's transaction.
 */
import { WorkflowNotFoundError, type Client } from "@temporalio/client";
import client from "prom-client";
import type { components } from "../../contracts/generated/types";
import type { Config } from "../../platform/config";
import type { Queryable } from "../../platform/db";
import type { CloudEvent } from "../../platform/events/envelope";
import type { CrowdDispatchInput } from "../linkages/crowd-dispatch";
import { crowdLevel } from "../linkages/signals";
import { dispatchKeyOf } from "../workflow-ids";
import { launch } from "./launch";
import { permitServices } from "./permits";
import { recordLinkage } from "./store";

type Change = components["schemas"]["CrowdLevelChangedEvent"];

/** The event types the `crowd-dispatch` consumer group takes. */
export const DISPATCH_TRIGGERS = ["crowd.level.changed"];
/** Police units a dispatch asks for. */
export const UNITS_PER_DISPATCH = 2;
/** Polls of public security in one workflow run before it continues as a new run (bounded history). */
export const POLLS_PER_RUN = 200;

const DECISIONS = ["started", "signalled", "ignored"] as const;
const decided = new client.Counter({
  name: "hub_crowd_dispatch_triggers_total",
  help: "crowd.level.changed events taken by the crowd-dispatch trigger, by decision: started (a place became critical with no dispatch linkage running), signalled (the running linkage of the place), ignored (a lower level with none running)",
  labelNames: ["decision"] as const,
});
for (const decision of DECISIONS) decided.inc({ decision }, 0);

interface Deps {
  client: Client;
  config: Config;
}

/** Starts or signals the place's dispatch linkage, in the consumer's transaction `tx`. */
export function crowdDispatchTrigger({ client, config }: Deps) {
  return async (event: CloudEvent, tx: Queryable): Promise<void> => {
    const change = event.data as Change;
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`linkage-hub:crowd-dispatch:${change.placeId}`]);
    const [running] = await tx.query<{ workflow_id: string }>("SELECT workflow_id FROM hub.crowd_dispatch WHERE place_id = $1", [change.placeId]);
    if (running) {
      if (await signalled(client, running.workflow_id, change)) return void decided.inc({ decision: "signalled" });
      // Its linkage has ended: later changes of the place need not ask Temporal again.
      await tx.query("DELETE FROM hub.crowd_dispatch WHERE place_id = $1", [change.placeId]);
    }
    if (change.level !== "critical") return void decided.inc({ decision: "ignored" });
    const row = await recordLinkage(tx, "crowd-dispatch", dispatchKeyOf(change.placeId, change.at), {
      requestId: event.requestid,
      partnerId: event.partnerid,
    });
    await tx.query(
      `INSERT INTO hub.crowd_dispatch (place_id, workflow_id, linkage_id, episode_start) VALUES ($1, $2, $3, $4)
       ON CONFLICT (place_id) DO UPDATE SET workflow_id = $2, linkage_id = $3, episode_start = $4, started_at = now()`,
      [change.placeId, row.workflow_id, row.id, change.at],
    );
    // The settings are fixed at the start: a later change of them leaves running linkages as they are.
    const input: Omit<CrowdDispatchInput, "linkageId"> = {
      placeId: change.placeId,
      episodeStart: change.at,
      count: change.count,
      capacity: change.capacity,
      service: permitServices(config.instance)["public-security"],
      units: UNITS_PER_DISPATCH,
      deadlineMs: config.dispatchDeadlineMs,
      clearAfterMs: config.dispatchClearAfterMs,
      pollMs: config.dispatchPollMs,
      pollsPerRun: POLLS_PER_RUN,
    };
    await launch(client, config, row, "crowdDispatch", input, event.requestid);
    decided.inc({ decision: "started" });
  };
}

/** Passes the change to the linkage; false when it has ended (or never started), so a new episode may start. */
async function signalled(client: Client, workflowId: string, change: Change): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).signal(crowdLevel, change);
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
