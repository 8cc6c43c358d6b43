/**
 * What the flights service asks the agencies, for the hub's own linkages subsystem through the
 * catalogue (`catalogue.linkageCall`, so each call is checked against the agency's document,
 * counted and, for personal data, audited): the aviation authority's no-fly zones, operators
 * and drones (purpose `aviation-safety`), public security's key places; and the civil
 * registry's identity check, through its existing action.
 */
import type { ServiceBroker } from "moleculer";
import type { components } from "../contracts/generated/types";
import { HubError } from "../platform/errors";
import type { Polygon } from "./geometry";
import type { EventArea, NoFlyZone } from "./airspace";

type Schemas = components["schemas"];
type Ineligible = Schemas["FlightReport"]["ineligible"][number];

/** The agencies' services in the catalogue (registered by the stacks: ops/stack/agencies.ts). */
export const aviationService = (instance: string) => `${instance}/GOV/aviation/drones/drone-registry`;
export const keyPlaceService = (instance: string) => `${instance}/GOV/public-security/police/event-security`;

const PURPOSE = { "data-purpose": "aviation-safety" };

interface KeyPlace {
  placeId: string;
  kind: "event" | "attraction";
  name: string;
  area: Polygon;
  opensAt?: string;
  closesAt?: string;
  status: "OPEN" | "CLOSED";
}

export class Agencies {
  constructor(
    private readonly broker: ServiceBroker,
    private readonly instance: string,
  ) {}

  private async call(service: string, path: string, headers: Record<string, string> = {}, requestId?: string): Promise<Schemas["CatalogueCallResult"]> {
    await this.broker.waitForServices(["catalogue"], 5000).catch(() => {
      throw new HubError("HUB_ERR_SERVICE_UNAVAILABLE", "The catalogue, through which the agencies are asked, is not reachable now; try again");
    });
    return this.broker.call<Schemas["CatalogueCallResult"], Schemas["CatalogueLinkageCallParams"]>(
      "catalogue.linkageCall",
      { service, client: "hub", method: "GET", path, headers },
      { requestID: requestId },
    );
  }

  private unavailable(what: string, status: number): HubError {
    return new HubError("HUB_ERR_AGENCY_UNAVAILABLE", `${what} answered ${status}`);
  }

  async noFlyZones(): Promise<NoFlyZone[]> {
    const answer = await this.call(aviationService(this.instance), "/no-fly-zones");
    if (answer.status !== 200) throw this.unavailable("The aviation authority's GET /no-fly-zones", answer.status);
    return (answer.body as { zones: NoFlyZone[] }).zones;
  }

  /** A key place (any kind) at public security, or undefined when it has none of that id. */
  async keyPlace(placeId: string, requestId?: string): Promise<KeyPlace | undefined> {
    // An id public security's document refuses (its own pattern) names no key place either.
    const answer = await this.call(keyPlaceService(this.instance), `/key-places/${encodeURIComponent(placeId)}`, {}, requestId).catch(
      (err: { type?: string }) => {
        if (err.type === "HUB_ERR_REQUEST_INVALID") return undefined;
        throw err;
      },
    );
    if (!answer || answer.status === 404) return undefined;
    if (answer.status !== 200) throw this.unavailable(`Public security's GET /key-places/${placeId}`, answer.status);
    return answer.body as KeyPlace;
  }

  /** The open key places of kind event, as event areas. */
  async openEventAreas(): Promise<EventArea[]> {
    const answer = await this.call(keyPlaceService(this.instance), "/key-places?status=OPEN");
    if (answer.status !== 200) throw this.unavailable("Public security's GET /key-places", answer.status);
    return (answer.body as { keyPlaces: KeyPlace[] }).keyPlaces.filter((p) => p.kind === "event" && p.opensAt && p.closesAt).map(eventAreaOf);
  }

  /**
   * Why the operator may not fly the drone, if anything: the name is not the identity number's
   * (civil registry), the operator is not registered or suspended, the drone is not registered,
   * not active, or another owner's (aviation authority). Asked at once, in parallel.
   */
  async ineligibility(operator: Schemas["FlightReportRequest"]["operator"], registration: string, requestId?: string): Promise<Ineligible[]> {
    const aviation = aviationService(this.instance);
    const [identity, op, drone, owned] = await Promise.all([
      this.broker.call<Schemas["IdentityVerificationResult"], Schemas["IdentityVerificationRequest"]>("civil-registry.identity.verify", operator, {
        requestID: requestId,
      }),
      this.call(aviation, `/operators/${operator.idNumber}`, PURPOSE, requestId),
      /^UA-[0-9]{4}-[0-9]{6}$/.test(registration) ? this.call(aviation, `/drones/${registration}`, {}, requestId) : Promise.resolve({ status: 404, body: {} }),
      this.call(aviation, `/drones?owner=${operator.idNumber}`, PURPOSE, requestId),
    ]);
    const out: Ineligible[] = [];
    if (!identity.match) out.push({ reason: "OPERATOR_IDENTITY_MISMATCH", detail: "The name is not the one the civil registry holds for the identity number" });
    if (op.status === 404)
      out.push({ reason: "OPERATOR_NOT_REGISTERED", detail: "No drone operator is registered at the aviation authority under the identity number" });
    else if (op.status !== 200) throw this.unavailable("The aviation authority's GET /operators", op.status);
    else if ((op.body as { status: string }).status !== "ACTIVE")
      out.push({ reason: "OPERATOR_SUSPENDED", detail: "The operator's registration is suspended" });
    if (drone.status === 404) out.push({ reason: "DRONE_NOT_REGISTERED", detail: `No drone ${registration} is registered at the aviation authority` });
    else if (drone.status !== 200) throw this.unavailable("The aviation authority's GET /drones", drone.status);
    else {
      const status = (drone.body as { status: string }).status;
      if (status !== "ACTIVE") out.push({ reason: "DRONE_NOT_ACTIVE", detail: `The drone ${registration} is ${status}` });
      if (owned.status !== 200) throw this.unavailable("The aviation authority's GET /drones?owner", owned.status);
      if (!(owned.body as { drones: { registrationNo: string }[] }).drones.some((d) => d.registrationNo === registration))
        out.push({ reason: "DRONE_OF_ANOTHER_OWNER", detail: `The drone ${registration} is registered to another owner` });
    }
    return out;
  }
}

export const eventAreaOf = (p: Pick<KeyPlace, "placeId" | "name" | "area" | "opensAt" | "closesAt" | "status">): EventArea => ({
  placeId: p.placeId,
  name: p.name,
  area: p.area,
  opensAt: new Date(p.opensAt!).toISOString(),
  closesAt: new Date(p.closesAt!).toISOString(),
  open: p.status === "OPEN",
});
