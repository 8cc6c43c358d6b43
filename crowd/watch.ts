/**
 * The watch a crowd node runs: the places' state (state.ts) fed by COUNTS (counts.ts), a sweep
 * every second for readings gone stale, and each level change published as
 * `crowd.level.changed` on EVENTS through the bus, with an id made of the place, the level and
 * the reading's `at` (a second publish of the same change is a duplicate). The level last
 * published for each place is written (in bulk, once a second) to hub.crowd_place; a node that
 * starts takes it as each place's level, rebuilds from COUNTS without publishing, then
 * publishes only the places whose rebuilt level differs from it.
 */
import type { JsMsg } from "nats";
import type { Db } from "../platform/db";
import type { EventBus } from "../platform/events/bus";
import { createEvent } from "../platform/events/envelope";
import { nameBasedUuid } from "../platform/ids";
import { readCounts, decodeCount, type CountsReader } from "./counts";
import { dropped, handled, levelEvents, levelLag, watchState } from "./metrics";
import { loadDevices, loadPlaces, saveLevels, type PlaceRecord } from "./registry";
import { CrowdState, type Level, type LevelChange } from "./state";

export const LEVEL_CHANGED = "crowd.level.changed";
const SWEEP_MS = 1000;
const SAVE_MS = 1000;

export interface WatchOptions {
  db: Db;
  bus: EventBus;
  staleMs: number;
  onError(what: string, err: unknown): void;
}

export class CrowdWatch {
  readonly state: CrowdState;
  /** The level last published (or being published) for each place. */
  private readonly published = new Map<string, Level>();
  /** Changes made while replaying, the last one per place: published (if still a change) once replayed. */
  private readonly replayChanges = new Map<string, LevelChange>();
  private readonly toSave = new Map<string, { level: Level; at: string }>();
  private reader?: CountsReader;
  private timers: NodeJS.Timeout[] = [];
  private saving: Promise<void> = Promise.resolve();
  private inFlight = new Set<Promise<unknown>>();
  private live = false;

  constructor(private readonly opts: WatchOptions) {
    this.state = new CrowdState(opts.staleMs);
  }

  /** Loads places and devices, then reads COUNTS from its start; resolves once reading has begun. */
  async start(): Promise<void> {
    await this.reload();
    watchState(this.state);
    this.reader = await readCounts(this.opts.bus, {
      message: (msg) => this.take(msg),
      replayed: () => this.replayed(),
      onError: (err) => this.opts.onError("reading COUNTS", err),
    });
    this.timers.push(
      setInterval(() => this.sweep(), SWEEP_MS),
      setInterval(() => void this.save(), SAVE_MS),
    );
  }

  /** Whether the replay of COUNTS is over (the state is current). */
  get current(): boolean {
    return this.live;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.reader?.stop();
    await Promise.allSettled([...this.inFlight]);
    await this.save();
    watchState(undefined);
  }

  /** Reads places and devices again (after a change); level changes that makes are published. */
  async reload(): Promise<void> {
    const now = Date.now();
    for (const p of await loadPlaces(this.opts.db)) this.place(p, now);
    for (const change of this.state.setDevices(await loadDevices(this.opts.db), now)) this.changed(change);
  }

  /** A place added, or its capacity or thresholds changed. */
  place(p: PlaceRecord, now = Date.now()): void {
    const fresh = !this.state.has(p.placeId);
    const change = this.state.setPlace({ placeId: p.placeId, capacity: p.capacity, warningAt: p.warningAt, criticalAt: p.criticalAt }, now);
    if (fresh) {
      this.state.setLevel(p.placeId, p.lastLevel);
      if (!this.published.has(p.placeId)) this.published.set(p.placeId, p.lastLevel);
    }
    if (change) this.changed(change);
  }

  private take(msg: JsMsg): void {
    const reading = decodeCount(msg.subject, msg.data);
    if ("dropped" in reading) return dropped(reading.dropped!);
    const outcome = this.state.reading(reading, Date.now());
    if (outcome.dropped) return dropped(outcome.dropped);
    handled.inc();
    if (outcome.change) this.changed(outcome.change);
  }

  private replayed(): void {
    this.live = true;
    for (const change of this.replayChanges.values()) {
      const current = this.state.level(change.placeId);
      if (current === change.level) this.changed(change);
    }
    this.replayChanges.clear();
  }

  private sweep(): void {
    try {
      for (const change of this.state.sweep(Date.now())) this.changed(change);
    } catch (err) {
      this.opts.onError("sweep", err);
    }
  }

  /**
   * Publishes a change, unless the place's level is what was last published (a rebuild, a
   * change undone while replaying). Until the replay is over, the last change of each place
   * waits (a place's state is not current before).
   */
  private changed(change: LevelChange): void {
    if (!this.live) return void this.replayChanges.set(change.placeId, change);
    const previous = this.published.get(change.placeId) ?? "normal";
    if (previous === change.level) return;
    this.published.set(change.placeId, change.level);
    const data: LevelChange = { ...change, previousLevel: previous };
    const event = createEvent(LEVEL_CHANGED, data, {
      source: "crowd",
      subject: change.placeId,
      id: nameBasedUuid(`${LEVEL_CHANGED}:${change.placeId}:${change.level}:${change.at}`),
    });
    const sent = this.opts.bus.publish(event).then(
      (ack) => {
        if (!ack.duplicate) {
          levelEvents.inc({ level: change.level });
          levelLag.observe(Math.max(0, Date.now() - Date.parse(change.at)) / 1000);
        }
        this.toSave.set(change.placeId, { level: change.level, at: change.at });
      },
      (err) => {
        // Not published: the next change (or a restart) publishes from the level last stored.
        if (this.published.get(change.placeId) === change.level) this.published.set(change.placeId, previous);
        this.opts.onError(`publishing ${LEVEL_CHANGED}`, err);
      },
    );
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }

  private save(): Promise<void> {
    this.saving = this.saving.then(async () => {
      if (!this.toSave.size) return;
      const batch = new Map(this.toSave);
      this.toSave.clear();
      try {
        await saveLevels(this.opts.db, batch);
      } catch (err) {
        for (const [id, v] of batch) if (!this.toSave.has(id)) this.toSave.set(id, v);
        this.opts.onError("saving levels", err);
      }
    });
    return this.saving;
  }
}
