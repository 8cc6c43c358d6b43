/**
 * The daily rollups behind the catalogue's figures (`hub.service_day`): each node counts in
 * memory what it sees (calls, linkage ends, health probes) per catalogue key and UTC day, and
 * adds its counts to the table every few seconds (`HUB_FIGURES_FLUSH_MS`) in one statement,
 * never a write per call. A flush that fails keeps its counts for the next one: the statement
 * is atomic, so they are added once or not at all. The node's last flush runs at stop, before
 * the database closes. Rows older than 400 days are deleted, at most once a day per node.
 *
 * Keys: a catalogue service's id (registered services, and the built-in agencies' operations
 * under builtinServiceId), or `linkage/<type>` for a linkage type.
 */
import { operations } from "../contracts";
import type { Db } from "../platform/db";
import type { ServiceTally } from "../platform/hub-node";
import { agencyOf, builtinServiceId } from "./builtin-ids";
import { serviceCalls } from "./metrics";

/** Upper bounds (ms) of the latency buckets; one more bucket counts everything slower. Never reorder: rows keep counts by position. */
export const LATENCY_BOUNDS_MS = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000, 86_400_000] as const;
export const KEEP_DAYS = 400;
const PRUNE_EVERY_MS = 24 * 3600_000;

export const linkageKey = (linkageType: string) => `linkage/${linkageType}`;

/** The UTC day of a moment, as `YYYY-MM-DD`. */
export const utcDay = (at: Date) => at.toISOString().slice(0, 10);

/** The index of the bucket a duration falls in. */
export function bucketOf(ms: number): number {
  const i = LATENCY_BOUNDS_MS.findIndex((bound) => ms <= bound);
  return i === -1 ? LATENCY_BOUNDS_MS.length : i;
}

/** Whether a call that threw still completed: the hub answered it below 500 (a refusal, a 4xx), not a hub or provider error. */
export function completedDespite(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "number" && code < 500;
}

/** The built-in agencies' operations in the contract: the only operation ids counted (a bounded set of keys and labels). */
let builtinOperations: Set<string> | undefined;
export function isBuiltinOperation(operationId: string): boolean {
  builtinOperations ??= new Set(
    operations()
      .map((o) => o.operationId)
      .filter((id) => agencyOf(id)),
  );
  return builtinOperations.has(operationId);
}

interface DayCounts {
  key: string;
  day: string;
  calls: number;
  completed: number;
  latency: number[];
  probes: number;
  probes_ok: number;
}

/** Adds a batch to the rollups in one statement (each key and day once in it). */
const UPSERT = `
INSERT INTO hub.service_day AS d (key, day, calls, completed, latency, probes, probes_ok)
SELECT key, day, calls, completed, latency, probes, probes_ok
FROM jsonb_to_recordset($1::jsonb) AS r(key text, day date, calls bigint, completed bigint, latency bigint[], probes bigint, probes_ok bigint)
ON CONFLICT (key, day) DO UPDATE SET
  calls = d.calls + EXCLUDED.calls,
  completed = d.completed + EXCLUDED.completed,
  latency = ARRAY(
    SELECT coalesce(a, 0) + coalesce(b, 0) FROM unnest(d.latency, EXCLUDED.latency) WITH ORDINALITY AS t(a, b, i) ORDER BY i
  ),
  probes = d.probes + EXCLUDED.probes,
  probes_ok = d.probes_ok + EXCLUDED.probes_ok`;

export class ServiceDays implements ServiceTally {
  private pending = new Map<string, DayCounts>();
  private running: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private prunedAt = 0;

  constructor(
    private readonly db: Db,
    private readonly instance: string,
    /** Told of a failed flush or prune (the counts wait for the next flush). */
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Flushes every `everyMs` until stop(). */
  start(everyMs: number): void {
    this.timer ??= setInterval(() => void this.flush().catch(this.onError), everyMs).unref();
  }

  /** The last flush: after the node's work has stopped, before its database closes. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush().catch(this.onError);
  }

  called(serviceId: string, completed: boolean, ms: number): void {
    serviceCalls.inc({ service: serviceId, outcome: completed ? "completed" : "failed" });
    this.count(serviceId, completed, ms);
  }

  linkageEnded(linkageType: string, completed: boolean, ms: number): void {
    this.count(linkageKey(linkageType), completed, ms);
  }

  probed(serviceId: string, up: boolean): void {
    const counts = this.countsOf(serviceId, new Date());
    counts.probes++;
    if (up) counts.probes_ok++;
  }

  agencyProbed(operationIds: readonly string[], up: boolean): void {
    for (const id of operationIds) if (isBuiltinOperation(id)) this.probed(builtinServiceId(this.instance, id)!, up);
  }

  /** Writes what was counted since the last flush (one flush at a time), then prunes if due. */
  flush(): Promise<void> {
    const run = this.running.then(() => this.write());
    this.running = run.catch(() => {});
    return run;
  }

  private count(key: string, completed: boolean, ms: number): void {
    const counts = this.countsOf(key, new Date());
    counts.calls++;
    if (completed) counts.completed++;
    counts.latency[bucketOf(ms)]!++;
  }

  private countsOf(key: string, at: Date): DayCounts {
    const day = utcDay(at);
    const id = `${day} ${key}`;
    let counts = this.pending.get(id);
    if (!counts) {
      counts = { key, day, calls: 0, completed: 0, latency: new Array(LATENCY_BOUNDS_MS.length + 1).fill(0), probes: 0, probes_ok: 0 };
      this.pending.set(id, counts);
    }
    return counts;
  }

  private async write(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    if (batch.size)
      try {
        await this.db.query(UPSERT, [JSON.stringify([...batch.values()])]);
      } catch (err) {
        this.keep(batch);
        throw err;
      }
    if (Date.now() - this.prunedAt >= PRUNE_EVERY_MS) {
      await this.db.query(`DELETE FROM hub.service_day WHERE day < (now() AT TIME ZONE 'UTC')::date - ${KEEP_DAYS}`);
      this.prunedAt = Date.now();
    }
  }

  /** A batch not written goes back, added to what was counted meanwhile. */
  private keep(batch: Map<string, DayCounts>): void {
    for (const [id, old] of batch) {
      const now = this.pending.get(id);
      if (!now) {
        this.pending.set(id, old);
        continue;
      }
      now.calls += old.calls;
      now.completed += old.completed;
      now.probes += old.probes;
      now.probes_ok += old.probes_ok;
      old.latency.forEach((n, i) => (now.latency[i]! += n));
    }
  }
}
