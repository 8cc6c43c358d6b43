/**
 * The catalogue's figures per entry over the last 7 and 30 days. Temporary body: every key
 * has no data yet (the counting and rollups replace it; the interface is fixed).
 */
import type { Queryable } from "../platform/db";

export interface WindowFigures {
  completion: { rate: number | null; completed: number; total: number };
  availability: { rate: number | null; ok: number; probes: number };
  latencyP95Ms: number | null;
}

const noData = (): WindowFigures => ({
  completion: { rate: null, completed: 0, total: 0 },
  availability: { rate: null, ok: 0, probes: 0 },
  latencyP95Ms: null,
});

/** Keys: a catalogue service's id, or `linkage/<type>` for a linkage type. */
export async function figuresOf(
  _db: Queryable,
  keys: string[],
  _now = new Date(),
): Promise<Map<string, { last7Days: WindowFigures; last30Days: WindowFigures }>> {
  return new Map(keys.map((k) => [k, { last7Days: noData(), last30Days: noData() }]));
}
