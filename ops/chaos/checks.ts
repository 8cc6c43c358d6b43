/**
 * The after-checks of a chaos run (ops/chaos/workload.ts made the outcomes): what every
 * request answered 2xx must have left behind, proved against any running hub given its URLs,
 * its database and its NATS. Each Check names its first few offenders.
 */
import { openDb, type Queryable } from "../../platform/db";
import { connectBus } from "../../platform/events/bus";
import { deadLetters } from "../../platform/events/admin";
import { loadConfig } from "../../platform/config";
import { natsAuth, type NatsAuthOptions } from "../../platform/nats-auth";
import { tokenSource, type Outcome } from "./client";
import { runCli } from "./cli";
import { eidChecks, incidentChecks, verdict, type Check } from "./effects";

export type { Check } from "./effects";

export interface CheckOptions {
  outcomes: Outcome[];
  baseUrl: string;
  /** The partner the workload ran as (it reads the linkages). */
  clientId: string;
  clientSecret: string;
  /** The hub's PostgreSQL. */
  databaseUrl: string;
  /** Where the sandboxes keep their schemas, if not in the hub's database. */
  sandboxDatabaseUrl?: string;
  /**
   * The hub's environment, as its nodes and CLI get it: NATS_URL and the NATS credentials
   * (loadConfig), and the audit key settings `linkage-hub audit verify` needs. Default: this process's.
   */
  env?: NodeJS.ProcessEnv;
  /** Instead of the environment's NATS_URL and credentials. */
  natsUrl?: string;
  natsAuth?: NatsAuthOptions;
  /** How long accepted linkages may still take to get where they must. */
  settleMs: number;
}

const accepted = (outcomes: Outcome[], kind: Outcome["kind"]) => outcomes.filter((o) => o.kind === kind && o.status >= 200 && o.status < 300);

/** Every verification answered 2xx has its audit record, of outcome OK, under its request id. */
async function audited(hub: Queryable, verified: Outcome[]): Promise<Check> {
  const rows = await hub.query<{ id: string }>(
    "SELECT DISTINCT record->>'requestId' AS id FROM hub.audit_record WHERE record->>'requestId' = ANY($1) AND record->>'outcome' = 'OK'",
    [verified.flatMap((o) => (o.requestId ? [o.requestId] : []))],
  );
  const found = new Set(rows.map((r) => r.id));
  const offenders = verified.flatMap((o) =>
    !o.requestId ? [`${o.key} (no X-Request-Id)`] : found.has(o.requestId) ? [] : [`${o.key} (request ${o.requestId})`],
  );
  return verdict("every verification answered 2xx has its audit record", offenders, verified.length);
}

/** `linkage-hub audit verify`. */
function auditVerify(databaseUrl: string, env: NodeJS.ProcessEnv): Check {
  const run = runCli(["audit", "verify"], { ...env, DATABASE_URL: databaseUrl });
  const said = `${run.stdout ?? ""}${run.stderr ?? ""}`.trim().split("\n").slice(-3).join(" / ");
  return { name: "audit verify passes", ok: run.status === 0, detail: `exit ${run.status}: ${said}` };
}

/** No dead letter without its reason header. */
async function deadLettersReasoned(natsUrl: string, auth: NatsAuthOptions): Promise<Check> {
  const bus = await connectBus(natsUrl, "chaos-checks", auth);
  try {
    const dead = await deadLetters(bus);
    const offenders = dead.filter((d) => !d.reason.trim()).map((d) => `seq ${d.seq} (${d.group || "no group"}, ${d.originalSubject || "no subject"})`);
    return verdict("every dead letter carries its reason", offenders, dead.length);
  } finally {
    await bus.close();
  }
}

export async function checkOutcomes(o: CheckOptions): Promise<Check[]> {
  const deadline = Date.now() + o.settleMs;
  const env = o.env ?? process.env;
  const hub = await openDb({ url: o.databaseUrl, pgliteDir: "" });
  const sandboxes = o.sandboxDatabaseUrl ? await openDb({ url: o.sandboxDatabaseUrl, pgliteDir: "" }) : hub;
  try {
    const ctx = { baseUrl: o.baseUrl, tokens: tokenSource(o), hub, sandboxes, deadline };
    const [eids, incidents] = await Promise.all([eidChecks(ctx, accepted(o.outcomes, "eid-issuance")), incidentChecks(ctx, accepted(o.outcomes, "incident"))]);
    return [
      await audited(hub, accepted(o.outcomes, "verification")),
      ...eids,
      ...incidents,
      auditVerify(o.databaseUrl, env),
      await deadLettersReasoned(o.natsUrl ?? env.NATS_URL ?? loadConfig(env).natsUrl, o.natsAuth ?? natsAuth(loadConfig(env))),
    ];
  } finally {
    if (sandboxes !== hub) await sandboxes.close();
    await hub.close();
  }
}
