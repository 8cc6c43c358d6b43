/**
 * The catalogue's figures for the last 7 and 30 UTC days (today included, as far as it has
 * gone), summed from the daily rollups (service-days.ts): completion rate, availability (the
 * share of health probes answered) and p95 latency. A rate with nothing counted is null ("no
 * data"), never 0 or 1.
 */
import type { Queryable } from "../platform/db";
import { LATENCY_BOUNDS_MS, utcDay } from "./service-days";

export interface WindowFigures {
  completion: { rate: number | null; completed: number; total: number };
  availability: { rate: number | null; ok: number; probes: number };
  latencyP95Ms: number | null;
}

export const WINDOWS = { last7Days: 7, last30Days: 30 } as const;

/** part ÷ whole, or null when there is no whole. */
export const rateOf = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

/**
 * The p95 of durations counted in buckets (LATENCY_BOUNDS_MS, then one open-ended), in ms:
 * interpolated inside the bucket the 95th percentile falls in, as Prometheus'
 * histogram_quantile does; in the open-ended bucket, the last bound. Null when nothing was counted.
 */
export function p95Of(buckets: readonly number[], bounds: readonly number[] = LATENCY_BOUNDS_MS): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = 0.95 * total;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i]!;
    if (n > 0 && below + n >= rank) {
      if (i >= bounds.length) return bounds[bounds.length - 1]!;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      return Math.round(lower + ((bounds[i]! - lower) * (rank - below)) / n);
    }
    below += n;
  }
  return bounds[bounds.length - 1]!;
}

/** What was counted over some days, summed. */
export interface Sums {
  calls: number;
  completed: number;
  latency: number[];
  probes: number;
  probesOk: number;
}

export const emptySums = (): Sums => ({ calls: 0, completed: 0, latency: [], probes: 0, probesOk: 0 });

export function addDay(sums: Sums, day: Sums): void {
  sums.calls += day.calls;
  sums.completed += day.completed;
  sums.probes += day.probes;
  sums.probesOk += day.probesOk;
  day.latency.forEach((n, i) => (sums.latency[i] = (sums.latency[i] ?? 0) + n));
}

export const figuresFrom = (s: Sums): WindowFigures => ({
  completion: { rate: rateOf(s.completed, s.calls), completed: s.completed, total: s.calls },
  availability: { rate: rateOf(s.probesOk, s.probes), ok: s.probesOk, probes: s.probes },
  latencyP95Ms: p95Of(s.latency),
});

/** The first day of a window of `days` ending on `today` (`YYYY-MM-DD`). */
export function windowStart(today: string, days: number): string {
  const d = new Date(`${today}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - (days - 1));
  return utcDay(d);
}

interface DayRow {
  key: string;
  day: string;
  calls: string | number;
  completed: string | number;
  latency: (string | number)[];
  probes: string | number;
  probes_ok: string | number;
}

/** The figures of each key asked for (every key answers, with nulls where nothing was counted). */
export async function figuresOf(
  db: Queryable,
  keys: string[],
  now = new Date(),
): Promise<Map<string, { last7Days: WindowFigures; last30Days: WindowFigures }>> {
  const today = utcDay(now);
  const from7 = windowStart(today, WINDOWS.last7Days);
  const rows = keys.length
    ? await db.query<DayRow>(
        `SELECT key, to_char(day, 'YYYY-MM-DD') AS day, calls, completed, latency, probes, probes_ok
           FROM hub.service_day WHERE key = ANY($1) AND day BETWEEN $2::date AND $3::date`,
        [keys, windowStart(today, WINDOWS.last30Days), today],
      )
    : [];
  const sums = new Map(keys.map((key) => [key, { week: emptySums(), month: emptySums() }]));
  for (const row of rows) {
    const day: Sums = {
      calls: Number(row.calls),
      completed: Number(row.completed),
      latency: row.latency.map(Number),
      probes: Number(row.probes),
      probesOk: Number(row.probes_ok),
    };
    const of = sums.get(row.key)!;
    addDay(of.month, day);
    if (row.day >= from7) addDay(of.week, day);
  }
  return new Map([...sums].map(([key, s]) => [key, { last7Days: figuresFrom(s.week), last30Days: figuresFrom(s.month) }]));
}
