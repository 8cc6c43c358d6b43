/**
 * The live crowd of every key place, in memory, pure (no I/O, time passed in): a place's count
 * is the sum of its devices' latest readings that are not stale (a reading stops counting
 * `staleMs` after its `at`); occupancy = count ÷ capacity; the level is `critical` from the
 * place's critical threshold (default 1.0), `warning` from its warning threshold (default 0.8),
 * else `normal`. A reading is checked here against the device registry and the place's
 * capacity; a dropped one says why, so the service counts it.
 */
import type { components } from "../contracts/generated/types";

type Schemas = components["schemas"];
export type Level = Schemas["CrowdLevel"];
export type LevelChange = Schemas["CrowdLevelChangedEvent"];

export const DEFAULT_WARNING = 0.8;
export const DEFAULT_CRITICAL = 1.0;
export const DEFAULT_STALE_MS = 2 * 60 * 1000;
/** A reading dated further ahead than this is refused. */
export const MAX_FUTURE_MS = 5 * 60 * 1000;
/** A count above this many times the place's capacity is refused as absurd. */
export const ABSURD_FACTOR = 10;

/** Why a reading was dropped (the label of the dropped counter). */
export const DROP_REASONS = [
  "malformed",
  "invalid",
  "wrong_subject",
  "unknown_device",
  "unknown_place",
  "wrong_place",
  "negative",
  "absurd",
  "future",
  "out_of_order",
  "duplicate",
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface PlaceConfig {
  placeId: string;
  capacity: number;
  /** Fractions of the capacity; null or undefined: the defaults. */
  warningAt?: number | null;
  criticalAt?: number | null;
}

export interface Reading {
  deviceId: string;
  placeId: string;
  count: number;
  /** Milliseconds since the epoch. */
  at: number;
}

interface DeviceState {
  deviceId: string;
  placeId: string;
  /** The latest reading, if any. */
  count?: number;
  at?: number;
  stale: boolean;
}

interface PlaceState extends PlaceConfig {
  /** Sum of the place's devices' latest readings that are not stale. */
  count: number;
  level: Level;
  devices: Set<string>;
}

export type Outcome = { dropped: DropReason; change?: undefined } | { dropped?: undefined; change?: LevelChange };

export interface PlaceView {
  placeId: string;
  count: number;
  capacity: number;
  occupancy: number;
  level: Level;
  devices: { deviceId: string; lastReadingAt: string | null; count: number | null; stale: boolean }[];
}

export function levelOf(count: number, place: PlaceConfig): Level {
  const occupancy = count / place.capacity;
  if (occupancy >= (place.criticalAt ?? DEFAULT_CRITICAL)) return "critical";
  if (occupancy >= (place.warningAt ?? DEFAULT_WARNING)) return "warning";
  return "normal";
}

export class CrowdState {
  private readonly places = new Map<string, PlaceState>();
  private readonly devices = new Map<string, DeviceState>();

  constructor(readonly staleMs = DEFAULT_STALE_MS) {}

  /** Adds a place, or changes its capacity and thresholds: the level change that makes at `now`, if any. */
  setPlace(config: PlaceConfig, now: number): LevelChange | undefined {
    const known = this.places.get(config.placeId);
    if (known) {
      Object.assign(known, { capacity: config.capacity, warningAt: config.warningAt, criticalAt: config.criticalAt });
      return this.relevel(known, now);
    }
    const place: PlaceState = { ...config, count: 0, level: "normal", devices: new Set() };
    this.places.set(config.placeId, place);
    for (const d of this.devices.values()) {
      if (d.placeId !== config.placeId) continue;
      place.devices.add(d.deviceId);
      if (!d.stale && d.count !== undefined) place.count += d.count;
    }
    return undefined;
  }

  /** The level a place starts with (the last one published for it, so a rebuild does not publish it again). */
  setLevel(placeId: string, level: Level): void {
    const place = this.places.get(placeId);
    if (place) place.level = level;
  }

  /**
   * The registered devices, all of them: new ones are added; removed (or moved) ones go with
   * their readings. Answers the level changes that makes at `now`.
   */
  setDevices(list: { deviceId: string; placeId: string }[], now: number): LevelChange[] {
    const wanted = new Map(list.map((d) => [d.deviceId, d.placeId]));
    const touched = new Set<PlaceState>();
    for (const [id, d] of this.devices) {
      if (wanted.get(id) === d.placeId) continue;
      this.forget(d);
      const place = this.places.get(d.placeId);
      place?.devices.delete(id);
      if (place) touched.add(place);
      this.devices.delete(id);
    }
    for (const [deviceId, placeId] of wanted) {
      if (this.devices.has(deviceId)) continue;
      this.devices.set(deviceId, { deviceId, placeId, stale: false });
      this.places.get(placeId)?.devices.add(deviceId);
    }
    return [...touched].flatMap((p) => this.relevel(p, now) ?? []);
  }

  /** Registered devices. */
  deviceCount(): number {
    return this.devices.size;
  }

  /** Takes one reading at `now`; answers why it was dropped, or the level change it made. */
  reading(r: Reading, now: number): Outcome {
    if (r.count < 0) return { dropped: "negative" };
    const device = this.devices.get(r.deviceId);
    if (!device) return { dropped: "unknown_device" };
    if (device.placeId !== r.placeId) return { dropped: "wrong_place" };
    const place = this.places.get(r.placeId);
    if (!place) return { dropped: "unknown_place" };
    if (r.count > ABSURD_FACTOR * place.capacity) return { dropped: "absurd" };
    if (r.at > now + MAX_FUTURE_MS) return { dropped: "future" };
    if (device.at !== undefined) {
      if (r.at === device.at) return { dropped: "duplicate" };
      if (r.at < device.at) return { dropped: "out_of_order" };
    }
    this.forget(device);
    device.count = r.count;
    device.at = r.at;
    device.stale = r.at + this.staleMs <= now;
    if (!device.stale) place.count += r.count;
    return { change: this.relevel(place, r.at) };
  }

  /** Marks readings that have become stale at `now`; answers the level changes that made. */
  sweep(now: number): LevelChange[] {
    const touched = new Map<PlaceState, number>();
    for (const d of this.devices.values()) {
      if (d.stale || d.at === undefined || d.at + this.staleMs > now) continue;
      const place = this.places.get(d.placeId);
      this.forget(d);
      d.stale = true;
      if (place) touched.set(place, Math.max(touched.get(place) ?? 0, d.at + this.staleMs));
    }
    const changes: LevelChange[] = [];
    for (const [place, at] of touched) {
      const change = this.relevel(place, at);
      if (change) changes.push(change);
    }
    return changes;
  }

  /** Devices whose latest reading is stale. */
  staleDevices(): number {
    let n = 0;
    for (const d of this.devices.values()) if (d.stale) n++;
    return n;
  }

  /** Places at each level. */
  levels(): Record<Level, number> {
    const out: Record<Level, number> = { normal: 0, warning: 0, critical: 0 };
    for (const p of this.places.values()) out[p.level]++;
    return out;
  }

  level(placeId: string): Level | undefined {
    return this.places.get(placeId)?.level;
  }

  has(placeId: string): boolean {
    return this.places.has(placeId);
  }

  /** Place ids in order. */
  placeIds(): string[] {
    return [...this.places.keys()].sort();
  }

  view(placeId: string): PlaceView | undefined {
    const p = this.places.get(placeId);
    if (!p) return undefined;
    const devices = [...p.devices]
      .sort()
      .map((id) => this.devices.get(id)!)
      .map((d) => ({
        deviceId: d.deviceId,
        lastReadingAt: d.at === undefined ? null : new Date(d.at).toISOString(),
        count: d.count ?? null,
        stale: d.stale,
      }));
    return { placeId, count: p.count, capacity: p.capacity, occupancy: p.count / p.capacity, level: p.level, devices };
  }

  /** Takes a device's current reading out of its place's count. */
  private forget(d: DeviceState): void {
    const place = this.places.get(d.placeId);
    if (!place) return;
    if (!d.stale && d.count !== undefined) place.count -= d.count;
  }

  private relevel(place: PlaceState, at: number): LevelChange | undefined {
    const level = levelOf(place.count, place);
    if (level === place.level) return undefined;
    const previousLevel = place.level;
    place.level = level;
    return {
      placeId: place.placeId,
      level,
      previousLevel,
      count: place.count,
      capacity: place.capacity,
      occupancy: place.count / place.capacity,
      at: new Date(at).toISOString(),
    };
  }
}
