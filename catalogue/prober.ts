/**
 * Availability of the registered services: the gateway probes each enabled one every
 * `HUB_SERVICE_PROBE_MS` with a `GET` of its base URL, through its Provider (so the address
 * guard, the credentials and the service's timeout apply, but not its breaker, which would
 * hide a recovery). Any HTTP answer below 500 within the timeout is up. The built-in agencies
 * are probed by their adapters (platform/agency-client.ts), into the same tally.
 */
import type { Db } from "../platform/db";
import type { ServiceTally } from "../platform/hub-node";
import { BUILTIN_AGENCIES, builtinSubsystemId } from "./builtin-ids";
import type { LiveCatalogue } from "./live";

/** Probes in flight at once: a slow provider must not hold up the others' probes for long. */
const AT_ONCE = 8;

export async function probeOnce(id: string, catalogue: LiveCatalogue): Promise<boolean> {
  try {
    const live = await catalogue.service(id);
    if (!live) return false;
    const answer = await live.provider.call({ method: "GET", path: "/", headers: { accept: "*/*" } });
    return answer.status < 500;
  } catch {
    return false;
  }
}

/** Probes every enabled registered service now, `AT_ONCE` at a time. */
export async function probeAll(db: Db, catalogue: LiveCatalogue, tally: ServiceTally, instance: string): Promise<void> {
  const builtin = BUILTIN_AGENCIES.map((agency) => builtinSubsystemId(instance, agency));
  const rows = await db.query<{ id: string }>("SELECT id FROM hub.catalogue_service WHERE disabled_at IS NULL AND NOT (subsystem = ANY($1)) ORDER BY id", [
    builtin,
  ]);
  const queue = rows.map((r) => r.id);
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) tally.probed(id, await probeOnce(id, catalogue));
  };
  await Promise.all(Array.from({ length: Math.min(AT_ONCE, queue.length) }, worker));
}

/** Probes every `everyMs` (a round skipped while the last one runs); returns the stop. */
export function startProber(
  db: Db,
  catalogue: LiveCatalogue,
  tally: ServiceTally,
  opts: { instance: string; everyMs: number; onError: (err: unknown) => void },
) {
  let round: Promise<void> | undefined;
  const tick = () => {
    round ??= probeAll(db, catalogue, tally, opts.instance)
      .catch(opts.onError)
      .finally(() => (round = undefined));
  };
  const timer = setInterval(tick, opts.everyMs).unref();
  return async () => {
    clearInterval(timer);
    await round;
  };
}
