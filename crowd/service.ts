/**
 * The `crowd` service (role `crowd`): the live crowd at key places. It runs the watch
 * (watch.ts), keeps hub.crowd_place in step with public security (places.ts: its key places,
 * read through the catalogue every CROWD_PLACES_SYNC_MS; events' venues from
 * `permits.key-place.*`), serves `GET /v1/key-places[/{id}]` from memory, and registers
 * counting devices and places for the CLI (`linkage-hub devices`).
 */
import type { Context, ServiceSchema } from "moleculer";
import { actionContract } from "../contracts";
import type { components } from "../contracts/generated/types";
import { startConsumer, type RunningConsumer } from "../platform/events/consumer";
import type { Db } from "../platform/db";
import type { HubNode } from "../platform/hub-node";
import { KeyPlaces } from "./places";
import { addDevices, loadDevices, registerPlaces, removeDevices, setThresholds } from "./registry";
import { CrowdWatch } from "./watch";

type Schemas = components["schemas"];

/** Announced to every crowd node after a change of devices or places: each reloads its registry. */
export const CROWD_CHANGED = "crowd.registry.changed";

/** The consumer group that takes public security's key places opened and closed by event permits. */
const KEY_PLACE_EVENTS = ["permits.key-place.opened", "permits.key-place.closed"];
const SYNC_RETRY_MS = 5000;

export function crowdService(node: HubNode): ServiceSchema {
  const { db, bus, config } = node;
  let watch: CrowdWatch | undefined;
  let places: KeyPlaces | undefined;
  let permits: RunningConsumer | undefined;
  let sync: NodeJS.Timeout | undefined;
  let stopping = false;
  const ready = () => places ?? (places = new KeyPlaces(db, watch!));
  /** After a change: this node reloads, and tells the others. */
  const changed = async (ctx: Context) => {
    await ready().refresh();
    await ctx.broadcast(CROWD_CHANGED, {});
  };

  return {
    name: "crowd",
    actions: crowdActions(db, ready, changed),
    events: {
      [CROWD_CHANGED](ctx: Context) {
        if (ctx.nodeID === this.broker.nodeID) return;
        ready()
          .refresh()
          .catch((err) => this.logger.warn({ err: String(err) }, "crowd: registry not reloaded"));
      },
    },
    async started() {
      const log = this.logger;
      watch = new CrowdWatch({ db, bus, staleMs: config.crowdStaleMs, onError: (what, err) => log.warn({ err: String(err) }, `crowd: ${what}`) });
      await ready().refresh();
      await watch.start();
      const handle = ready().keyPlaceEvent.bind(ready());
      const onError = (err: unknown) => log.warn({ err: String(err) }, "crowd: key-place event");
      permits = await startConsumer(bus, db, { group: "crowd", types: KEY_PLACE_EVENTS, handle }, { onError });
      // Every CROWD_PLACES_SYNC_MS; sooner after a failure (public security not yet in the catalogue at start-up).
      const syncPlaces = (): void => {
        sync = undefined;
        ready()
          .readPublicSecurity(this.broker, config.instance)
          .then(
            () => config.crowdPlacesSyncMs,
            (err) => {
              log.info({ err: String(err) }, "crowd: public security's key places not read yet; will retry");
              return Math.min(SYNC_RETRY_MS, config.crowdPlacesSyncMs);
            },
          )
          .then((ms) => {
            if (!stopping) sync = setTimeout(syncPlaces, ms);
          });
      };
      syncPlaces();
    },
    async stopped() {
      stopping = true;
      clearTimeout(sync);
      await permits?.stop();
      await watch?.stop();
      watch = undefined;
      places = undefined;
    },
  };
}

/** The actions: the REST reads, and the CLI's registrations (each reloads the registry of every crowd node). */
function crowdActions(db: Db, places: () => KeyPlaces, changed: (ctx: Context) => Promise<void>): ServiceSchema["actions"] {
  const ready = places;
  return {
    "keyPlaces.list": {
      ...actionContract("KeyPlaceListParams", "KeyPlaceCrowdPage"),
      handler: (ctx: Context<Schemas["KeyPlaceListParams"]>) => ready().list(ctx.params),
    },
    "keyPlaces.get": {
      ...actionContract("KeyPlaceRef", "KeyPlaceCrowd"),
      handler: (ctx: Context<Schemas["KeyPlaceRef"]>) => ready().get(ctx.params.id),
    },
    "devices.add": {
      ...actionContract("CrowdDevices", "CrowdDevices"),
      async handler(ctx: Context<Schemas["CrowdDevices"]>): Promise<Schemas["CrowdDevices"]> {
        await addDevices(db, ctx.params.devices);
        await changed(ctx);
        const added = new Set(ctx.params.devices.map((d) => d.deviceId));
        return { devices: (await loadDevices(db)).filter((d) => added.has(d.deviceId)) };
      },
    },
    "devices.list": {
      ...actionContract(undefined, "CrowdDevices"),
      handler: async (): Promise<Schemas["CrowdDevices"]> => ({ devices: await loadDevices(db) }),
    },
    "devices.remove": {
      ...actionContract("CrowdDeviceRemoval", "CrowdDevices"),
      async handler(ctx: Context<Schemas["CrowdDeviceRemoval"]>): Promise<Schemas["CrowdDevices"]> {
        const devices = await removeDevices(db, ctx.params.deviceIds);
        await changed(ctx);
        return { devices };
      },
    },
    "places.register": {
      ...actionContract("CrowdPlaces", "CrowdPlaces"),
      async handler(ctx: Context<Schemas["CrowdPlaces"]>): Promise<Schemas["CrowdPlaces"]> {
        await registerPlaces(db, ctx.params.places);
        await changed(ctx);
        return ctx.params;
      },
    },
    "places.thresholds": {
      ...actionContract("CrowdPlaceThresholds", "KeyPlaceCrowd"),
      async handler(ctx: Context<Schemas["CrowdPlaceThresholds"]>): Promise<Schemas["KeyPlaceCrowd"]> {
        await setThresholds(db, ctx.params);
        await changed(ctx);
        return ready().get(ctx.params.placeId);
      },
    },
  };
}
