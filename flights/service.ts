/**
 * The `flights` service (role `flights`): drone flight reports answered at once
 * (`POST /v1/flight-reports`), the police's view (`GET /v1/flight-reports`), and the
 * withdrawal of accepted flights an event area opens across. Each node holds the airspace in
 * memory (airspace.ts), kept in step by keeper.ts: the aviation authority's no-fly zones and
 * public security's open event areas, read every FLIGHTS_SYNC_MS; event areas also arrive with
 * `permits.key-place.*` (one node of the consumer group handles each event, then tells the
 * others to reload).
 */
import type { Context, ServiceSchema } from "moleculer";
import { actionContract } from "../contracts";
import type { components } from "../contracts/generated/types";
import { metaOf } from "../platform/call-meta";
import { HubError } from "../platform/errors";
import { startConsumer, type RunningConsumer } from "../platform/events/consumer";
import type { HubNode } from "../platform/hub-node";
import { Agencies } from "./agencies";
import { Airspace } from "./airspace";
import { AirspaceKeeper, AIRSPACE_CHANGED } from "./keeper";
import { zonesHeld } from "./metrics";
import { listNear, submitReport } from "./reports";

type Schemas = components["schemas"];

const KEY_PLACE_EVENTS = ["permits.key-place.opened", "permits.key-place.closed"];
const SYNC_RETRY_MS = 2000;

export function flightsService(node: HubNode): ServiceSchema {
  const { db, bus, config, broker } = node;
  const airspace = new Airspace();
  const agencies = new Agencies(broker, config.instance);
  const kick = () => node.outbox.kick();
  const keeper = new AirspaceKeeper({ db, broker, airspace, agencies, kick });
  let consumer: RunningConsumer | undefined;
  let sync: NodeJS.Timeout | undefined;
  let stopping = false;

  return {
    name: "flights",
    actions: {
      "reports.submit": {
        ...actionContract("FlightReportRequest", "FlightReport"),
        audit: (p: Schemas["FlightReportRequest"]) => [p.operator.idNumber],
        handler(ctx: Context<Schemas["FlightReportRequest"]>) {
          if (!keeper.zonesRead)
            throw new HubError("HUB_ERR_SERVICE_UNAVAILABLE", "The no-fly zones have not been read from the aviation authority yet; try again");
          return submitReport({ db, airspace, agencies, kick }, ctx.params, { partnerId: metaOf(ctx).partner, requestId: ctx.requestID ?? undefined });
        },
      },
      "reports.list": {
        ...actionContract("FlightReportListParams", "FlightReportPage"),
        handler: (ctx: Context<Schemas["FlightReportListParams"]>) => listNear(db, agencies, ctx.params, ctx.requestID ?? undefined),
      },
    },
    events: {
      [AIRSPACE_CHANGED](ctx: Context) {
        if (ctx.nodeID === this.broker.nodeID) return;
        airspace.loadEventAreas(db).catch((err) => this.logger.warn({ err: String(err) }, "flights: event areas not reloaded"));
      },
    },
    async started() {
      const log = this.logger;
      zonesHeld(() => airspace.zoneCount);
      await airspace.loadEventAreas(db);
      const onError = (err: unknown) => log.warn({ err: String(err) }, "flights: key-place event");
      consumer = await startConsumer(bus, db, { group: "flights", types: KEY_PLACE_EVENTS, handle: (e, tx) => keeper.keyPlaceEvent(e, tx) }, { onError });
      // Every FLIGHTS_SYNC_MS; sooner after a failure (the agencies not yet in the catalogue at start-up).
      const syncAirspace = (): void => {
        sync = undefined;
        const retry = (err: unknown) => (
          log.info({ err: String(err) }, "flights: airspace not read yet; will retry"),
          Math.min(SYNC_RETRY_MS, config.flightsSyncMs)
        );
        void keeper
          .read()
          .then(() => config.flightsSyncMs, retry)
          .then((ms) => void (stopping || (sync = setTimeout(syncAirspace, ms))));
      };
      syncAirspace();
    },
    async stopped() {
      stopping = true;
      clearTimeout(sync);
      await consumer?.stop();
      zonesHeld(undefined);
    },
  };
}
