/**
 * The key places as the crowd service serves them: the live numbers of the watch with each
 * place's record (name, source, open, thresholds), and the ways places arrive: public
 * security's key-place list (read through the catalogue), an event permit's
 * `permits.key-place.*` events, and places registered by hand.
 */
import type { ServiceBroker } from "moleculer";
import type { components } from "../contracts/generated/types";
import type { Db, Queryable } from "../platform/db";
import { HubError } from "../platform/errors";
import type { CloudEvent } from "../platform/events/envelope";
import { loadPlaces, upsertPlace, type PlaceRecord } from "./registry";
import { DEFAULT_CRITICAL, DEFAULT_WARNING } from "./state";
import type { CrowdWatch } from "./watch";

type Schemas = components["schemas"];
type KeyPlaceEvent = Schemas["KeyPlaceEvent"];
type KeyPlace = { placeId: string; kind: "event" | "attraction"; name: string; capacity: number; opensAt?: string; closesAt?: string };

/** Public security's key-place service in the catalogue (registered by the stacks: ops/stack/agencies.ts). */
export const keyPlaceService = (instance: string) => `${instance}/GOV/public-security/police/event-security`;

const cursorOf = (placeId: string) => Buffer.from(placeId).toString("base64url");
const placeOfCursor = (cursor: string) => Buffer.from(cursor, "base64url").toString();

export class KeyPlaces {
  private records = new Map<string, PlaceRecord>();

  constructor(
    private readonly db: Db,
    private readonly watch: CrowdWatch,
  ) {}

  /** Reads the records and the watch's registry again (after a change). */
  async refresh(): Promise<void> {
    this.records = new Map((await loadPlaces(this.db)).map((p) => [p.placeId, p]));
    await this.watch.reload();
  }

  view(placeId: string): Schemas["KeyPlaceCrowd"] | undefined {
    const live = this.watch.state.view(placeId);
    const record = this.records.get(placeId);
    if (!live || !record) return undefined;
    return {
      placeId,
      name: record.name,
      source: record.source,
      open: record.open,
      count: live.count,
      capacity: live.capacity,
      occupancy: live.occupancy,
      level: live.level,
      warningAt: record.warningAt ?? DEFAULT_WARNING,
      criticalAt: record.criticalAt ?? DEFAULT_CRITICAL,
      devices: live.devices,
    };
  }

  get(placeId: string): Schemas["KeyPlaceCrowd"] {
    const place = this.view(placeId);
    if (!place) throw new HubError("HUB_ERR_KEY_PLACE_NOT_FOUND", `No key place ${placeId} is watched`);
    return place;
  }

  /** A page by place id, after the cursor's place. */
  list({ level, limit = 20, cursor }: Schemas["KeyPlaceListParams"]): Schemas["KeyPlaceCrowdPage"] {
    const after = cursor ? placeOfCursor(cursor) : undefined;
    if (after !== undefined && !this.records.has(after))
      throw new HubError("HUB_ERR_PAGE_NOT_FOUND", "No such page: the cursor is not the `next` of a page of this list");
    const items: Schemas["KeyPlaceCrowd"][] = [];
    for (const id of this.watch.state.placeIds()) {
      if (after !== undefined && id <= after) continue;
      const place = this.view(id);
      if (!place || (level && place.level !== level)) continue;
      if (items.length === limit) return { items, next: cursorOf(items[items.length - 1]!.placeId) };
      items.push(place);
    }
    return { items, next: null };
  }

  /** An event venue opened or closed as a key place by its permit: recorded in `tx`, and in memory at once. */
  async keyPlaceEvent(event: CloudEvent, tx: Queryable): Promise<void> {
    const data = event.data as KeyPlaceEvent;
    const open = event.type === "permits.key-place.opened";
    const name = `${data.applicationNo} at ${data.venueId}`;
    await upsertPlace(tx, { placeId: data.placeId, name, capacity: data.capacity, source: "event", open, opensAt: data.opensAt, closesAt: data.closesAt });
    const known = this.records.get(data.placeId);
    const record: PlaceRecord = {
      placeId: data.placeId,
      name,
      capacity: data.capacity,
      warningAt: known?.warningAt ?? null,
      criticalAt: known?.criticalAt ?? null,
      source: "event",
      open,
      lastLevel: known?.lastLevel ?? "normal",
    };
    this.records.set(data.placeId, record);
    this.watch.place(record);
  }

  /** Public security's open key places (attractions and events' venues) into hub.crowd_place, then into memory. */
  async readPublicSecurity(broker: ServiceBroker, instance: string): Promise<void> {
    await broker.waitForServices(["catalogue"], 10_000);
    const answer = await broker.call<Schemas["CatalogueCallResult"], Schemas["CatalogueLinkageCallParams"]>("catalogue.linkageCall", {
      service: keyPlaceService(instance),
      client: "hub",
      method: "GET",
      path: "/key-places?status=OPEN",
    });
    if (answer.status !== 200) throw new Error(`public security's GET /key-places answered ${answer.status}`);
    for (const p of (answer.body as { keyPlaces: KeyPlace[] }).keyPlaces)
      await upsertPlace(this.db, {
        placeId: p.placeId,
        name: p.name,
        capacity: p.capacity,
        source: p.kind,
        open: true,
        opensAt: p.opensAt,
        closesAt: p.closesAt,
      });
    await this.refresh();
  }
}
