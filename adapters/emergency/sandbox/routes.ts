/** The CAD's routes: alerts in as CAP XML, dispatches requested as JSON, incidents read back. */
import type { Db } from "../../../platform/db";
import { idempotencyKeyOf } from "../../../sandbox-kit/http";
import type { Route } from "../../../sandbox-kit/server";
import { AgencyError, EMERGENCY, readAlert, readDispatchRequest } from "./format";
import { dispatchUnits, findIncident, receiveAlert } from "./store";

export function routes(db: Db): Route[] {
  return [
    {
      method: "POST",
      pattern: /^\/cad\/v1\/alerts$/,
      successStatus: 201,
      accepts: /^application\/(cap\+)?xml\b/i,
      malformed: [{ receiptId: 42 }, { incidentNo: "nope", status: "OK" }, {}],
      async handle(req) {
        const key = idempotencyKeyOf(req.headers, EMERGENCY);
        const xml = await req.text();
        return receiveAlert(db, key, readAlert(xml), xml);
      },
    },
    {
      method: "POST",
      pattern: /^\/cad\/v1\/incidents\/(INC-[0-9A-F]{12})\/dispatches$/,
      successStatus: 201,
      accepts: /^application\/json\b/i,
      malformed: [{ dispatchId: null, units: "many" }, { units: [] }, { dispatch: {} }],
      async handle(req) {
        const key = idempotencyKeyOf(req.headers, EMERGENCY);
        return dispatchUnits(db, key, req.params[0]!, readDispatchRequest(await req.object()));
      },
    },
    {
      method: "GET",
      pattern: /^\/cad\/v1\/incidents\/(INC-[0-9A-F]{12})$/,
      successStatus: 200,
      malformed: [{ incidentNo: 7 }],
      async handle(req) {
        const incident = await findIncident(db, req.params[0]!);
        if (!incident) throw new AgencyError(404, "INCIDENT_NOT_FOUND", "no incident with this number");
        return { status: 200, body: incident };
      },
    },
  ];
}
