/**
 * The crowd benchmark's load and its observers: counting devices at N places publishing once a
 * second, each place's count rising into `warning` and falling back on a wave of its own (so
 * level changes arrive all the time, spread over the places), a few places reaching `critical`;
 * a watcher of the level events and dispatch linkages they cause; and the floor, a bare
 * JetStream consumer of the same counts.
 */
import { DeliverPolicy, type NatsConnection } from "nats";
import { quantileMs } from "./measure";

export const CAPACITY = 1000;
const NORMAL = 500;
const WARNING = 900;
const CRITICAL = 1100;

export interface Wave {
  places: number;
  /** Seconds of one place's wave: half normal, half warning, so two level changes each. */
  period: number;
  /** The first `critical` places turn critical one after another, a second apart, from second 10. */
  critical: number;
}

/** The load's places: the critical ones first (key places at public security, which a dispatch needs), then places of the run's own. */
export const benchPlaces = (run: string, wave: Wave, criticalIds: string[]) =>
  Array.from({ length: wave.places }, (_, i) => criticalIds[i] ?? `BENCH-${run}-${i}`);
export const deviceId = (run: string, i: number) => `BENCH-${run}-D${i}`;

/** Place i's count at whole second s of the load. */
export function countAt(wave: Wave, i: number, s: number): number {
  if (i < wave.critical && s >= 10 + i) return CRITICAL;
  return (s + i) % wave.period < wave.period / 2 ? NORMAL : WARNING;
}

export interface Published {
  messages: number;
  /** Seconds the load took, longer than asked when the publisher fell behind. */
  seconds: number;
}

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - performance.now())));

/** Every place's device publishes once a second for `seconds`, spread in 100 slices a second; each count's `at` is its publish time. */
export async function publishCounts(
  nc: NatsConnection,
  run: string,
  places: string[],
  wave: Wave,
  seconds: number,
  say: (line: string) => void,
): Promise<Published> {
  const slices = 100;
  const perSlice = Math.ceil(wave.places / slices);
  const t0 = performance.now();
  let messages = 0;
  for (let s = 0; s < seconds; s++) {
    for (let slice = 0; slice < slices; slice++) {
      await sleepUntil(t0 + s * 1000 + slice * (1000 / slices));
      const at = new Date().toISOString();
      for (let i = slice * perSlice; i < Math.min(wave.places, (slice + 1) * perSlice); i++) {
        const msg = { deviceId: deviceId(run, i), placeId: places[i]!, count: countAt(wave, i, s), at };
        nc.publish(`counts.${msg.placeId}.${msg.deviceId}`, JSON.stringify(msg));
        messages++;
      }
    }
    await nc.flush();
    if ((s + 1) % 10 === 0) say(`counts: ${s + 1}/${seconds} s, ${messages} published`);
  }
  return { messages, seconds: (performance.now() - t0) / 1000 };
}

/** Lags (ms) grouped by the second of the load their count was made in. */
export class Lags {
  private readonly bySecond = new Map<number, number[]>();
  constructor(private readonly startMs: number) {}

  add(atMs: number, lagMs: number): void {
    const s = Math.floor((atMs - this.startMs) / 1000);
    const list = this.bySecond.get(s) ?? [];
    list.push(lagMs);
    this.bySecond.set(s, list);
  }

  get count(): number {
    return [...this.bySecond.values()].reduce((n, l) => n + l.length, 0);
  }

  /** p50 and p99 of all, and of each `windowS`-second window of the load (to see whether the lag grows). */
  figures(seconds: number, windowS = 10): LagFigures {
    const all = [...this.bySecond.values()].flat();
    const windows: LagWindow[] = [];
    for (let from = 0; from < seconds; from += windowS) {
      const lags = [...this.bySecond].filter(([s]) => s >= from && s < from + windowS).flatMap(([, l]) => l);
      windows.push({ fromS: from, count: lags.length, p50Ms: quantileMs(lags, 0.5), p99Ms: quantileMs(lags, 0.99) });
    }
    return { count: all.length, p50Ms: quantileMs(all, 0.5), p99Ms: quantileMs(all, 0.99), maxMs: quantileMs(all, 1), windows };
  }
}

export interface LagWindow {
  fromS: number;
  count: number;
  p50Ms: number;
  p99Ms: number;
}

export interface LagFigures {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  windows: LagWindow[];
}

interface CloudEvent<T> {
  time: string;
  data: T;
}

/** Watches the level events of this run's places (lag from the count's `at`) and the dispatch linkages started for them (from the critical count's `at`). */
export function watchLevels(nc: NatsConnection, places: string[], startMs: number) {
  const ours = new Set(places);
  const levels = new Lags(startMs);
  const dispatches = new Lags(startMs);
  const criticalAt = new Map<string, number>();
  const levelSub = nc.subscribe("events.crowd.level.changed", {
    callback: (_err, msg) => {
      const received = Date.now();
      const { data } = msg.json<CloudEvent<{ placeId: string; level: string; at: string }>>();
      if (!ours.has(data.placeId)) return;
      const at = Date.parse(data.at);
      levels.add(at, received - at);
      if (data.level === "critical") criticalAt.set(data.placeId, at);
    },
  });
  const started = new Map<string, number>();
  const linkageSub = nc.subscribe("events.linkages.linkage.started", {
    callback: (_err, msg) => {
      const { data } = msg.json<CloudEvent<{ linkageType: string; businessKey: string }>>();
      const place = data.businessKey.split(":")[0]!;
      if (data.linkageType === "crowd-dispatch" && ours.has(place)) started.set(place, Date.now());
    },
  });
  return {
    levels,
    /** Dispatch linkages started, each measured from its place's critical count. */
    dispatches(): Lags {
      for (const [place, t] of started) {
        const at = criticalAt.get(place);
        if (at !== undefined) dispatches.add(at, t - at);
      }
      return dispatches;
    },
    stop: () => (levelSub.unsubscribe(), linkageSub.unsubscribe()),
  };
}

/** The floor: a bare ordered JetStream consumer of the counts (only the load's, on the bench's own stack), lag from each count's `at` to its delivery here. */
export async function floorConsumer(nc: NatsConnection, startMs: number) {
  const lags = new Lags(startMs);
  const consumer = await nc.jetstream().consumers.get("COUNTS", { filterSubjects: ["counts.>"], deliver_policy: DeliverPolicy.New });
  const messages = await consumer.consume();
  const done = (async () => {
    for await (const m of messages) {
      const at = Date.parse(m.json<{ at: string }>().at);
      lags.add(at, Date.now() - at);
    }
  })();
  return { lags, stop: async () => (await messages.close(), await done) };
}
