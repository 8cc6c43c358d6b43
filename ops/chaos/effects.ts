/**
 * What the accepted e-ID applications and incident reports of a chaos run did, proved at the
 * hub and in the sandboxes' own tables: each e-ID linkage COMPLETED and one e-ID issued per
 * application; each incident's event handled once per consumer group, its linkage started
 * once and the premise's supply suspended once per service.
 */
import type { Queryable } from "../../platform/db";
import { linkageIdOf, workflowIdOf } from "../../workflows/workflow-ids";
import type { Outcome, Tokens } from "./client";
import { awaitLinkage, described, mapLimit, type LinkageView } from "./linkages";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface EffectContext {
  baseUrl: string;
  tokens: Tokens;
  /** The hub's database (schema `hub`). */
  hub: Queryable;
  /** The database holding the sandboxes' schemas (`sandbox_civil_registry`, `sandbox_utilities`). */
  sandboxes: Queryable;
  /** Epoch ms until which a linkage may still be waited for. */
  deadline: number;
}

const SHOWN = 5;
const POLLING = 16;
/** The consumer group that starts linkages from events (workflows/service/service.ts). */
export const LINKAGES_GROUP = "linkages";

/** A check that passes when nothing offends; its detail names the first few offenders. */
export function verdict(name: string, offenders: string[], total: number): Check {
  if (!offenders.length) return { name, ok: true, detail: `all ${total}` };
  const shown = offenders.slice(0, SHOWN).join("; ");
  return { name, ok: false, detail: `${offenders.length} of ${total}: ${shown}${offenders.length > SHOWN ? "; …" : ""}` };
}

const countsOf = (rows: { k: string; n: string | number }[]) => new Map(rows.map((r) => [r.k, Number(r.n)]));

/** Every accepted e-ID linkage COMPLETED, and its citizen holds exactly one e-ID at the civil registry. */
export async function eidChecks(ctx: EffectContext, accepted: Outcome[]): Promise<Check[]> {
  const views = await mapLimit(accepted, POLLING, (o) =>
    o.ref ? awaitLinkage(ctx.baseUrl, ctx.tokens, o.ref, (l) => l.http === 200 && l.status !== "RUNNING", ctx.deadline) : Promise.resolve(undefined),
  );
  const unfinished = accepted.flatMap((o, i) =>
    views[i]?.status === "COMPLETED" ? [] : [`${o.key} (${views[i] ? described(views[i]) : "no linkage id answered"})`],
  );
  const eids = countsOf(
    await ctx.sandboxes.query<{ k: string; n: string }>(
      "SELECT citizen_no AS k, count(*) AS n FROM sandbox_civil_registry.eid WHERE citizen_no = ANY($1) GROUP BY citizen_no",
      [accepted.map((o) => o.subject ?? "")],
    ),
  );
  const notOnce = accepted.flatMap((o) => (eids.get(o.subject ?? "") === 1 ? [] : [`${o.key} (${eids.get(o.subject ?? "") ?? 0} e-IDs)`]));
  return [
    verdict("every accepted e-ID linkage COMPLETED", unfinished, accepted.length),
    verdict("one e-ID issued per accepted application", notOnce, accepted.length),
  ];
}

const suspended = (l: LinkageView) => l.http === 200 && (l.stepsDone?.includes("suspend-supply") || l.status !== "RUNNING");

/** Each accepted incident's linkage: recorded once, and past its suspension. */
async function incidentLinkages(ctx: EffectContext, accepted: Outcome[]): Promise<Check> {
  const views = await mapLimit(accepted, POLLING, (o) =>
    awaitLinkage(ctx.baseUrl, ctx.tokens, linkageIdOf(workflowIdOf("incident-utilities", o.key)), suspended, ctx.deadline),
  );
  const rows = countsOf(
    await ctx.hub.query<{ k: string; n: string }>(
      "SELECT business_key AS k, count(*) AS n FROM hub.linkage WHERE type = 'incident-utilities' AND business_key = ANY($1) GROUP BY business_key",
      [accepted.map((o) => o.key)],
    ),
  );
  const offenders = accepted.flatMap((o, i) => {
    const view = views[i]!;
    if (rows.get(o.key) !== 1) return [`${o.key} (${rows.get(o.key) ?? 0} linkages)`];
    return view.stepsDone?.includes("suspend-supply") ? [] : [`${o.key} (${described(view)})`];
  });
  return verdict("every accepted incident started its linkage once, which suspended the supply", offenders, accepted.length);
}

/** Each accepted incident: one suspension order per service at the utility, at least one. */
async function suspensions(ctx: EffectContext, accepted: Outcome[]): Promise<Check> {
  const rows = await ctx.sandboxes.query<{ incident_ref: string; svc_code: string; n: string }>(
    `SELECT incident_ref, svc_code, count(*) AS n FROM sandbox_utilities.service_order
      WHERE order_type = 'SUSPEND' AND incident_ref = ANY($1) GROUP BY incident_ref, svc_code`,
    [accepted.map((o) => o.ref ?? "")],
  );
  const offenders = accepted.flatMap((o) => {
    const mine = rows.filter((r) => r.incident_ref === o.ref);
    if (!mine.length) return [`${o.key} (no suspension)`];
    const twice = mine.filter((r) => Number(r.n) !== 1).map((r) => `${r.svc_code} ${r.n} times`);
    return twice.length ? [`${o.key} (${twice.join(", ")})`] : [];
  });
  return verdict("one suspension per service per accepted incident at the utility", offenders, accepted.length);
}

/** Each accepted incident's `emergency.incident.reported` event: recorded handled once by the linkages group, and by no group twice. */
async function handledOnce(ctx: EffectContext, accepted: Outcome[]): Promise<Check> {
  const rows = await ctx.hub.query<{ incident: string; consumer: string; n: string }>(
    `SELECT split_part(event_id, ':', 2) AS incident, consumer, count(*) AS n FROM hub.handled_event
      WHERE event_id LIKE 'emergency.incident.reported:%' AND split_part(event_id, ':', 2) = ANY($1) GROUP BY 1, 2`,
    [accepted.map((o) => o.ref ?? "")],
  );
  const offenders = accepted.flatMap((o) => {
    const mine = rows.filter((r) => r.incident === o.ref);
    if (!mine.some((r) => r.consumer === LINKAGES_GROUP)) return [`${o.key} (not handled by ${LINKAGES_GROUP})`];
    const twice = mine.filter((r) => Number(r.n) !== 1).map((r) => `${r.consumer} ${r.n} times`);
    return twice.length ? [`${o.key} (${twice.join(", ")})`] : [];
  });
  return verdict("every accepted incident's event handled once per consumer group", offenders, accepted.length);
}

export async function incidentChecks(ctx: EffectContext, accepted: Outcome[]): Promise<Check[]> {
  const linkages = await incidentLinkages(ctx, accepted);
  return [linkages, await suspensions(ctx, accepted), await handledOnce(ctx, accepted)];
}
