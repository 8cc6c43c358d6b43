/**
 * The emergency services sandbox: plays the agency's dispatch system in development and
 * tests. Alerts come in as CAP 1.2 XML; answers are the agency's own JSON (receipts,
 * dispatches, errors as `{errorCode, errorMessage}`), with fault injection on every
 * `/cad/...` request (the plumbing shared with the other sandboxes: platform/sandbox/).
 *
 * Run it: node --import tsx adapters/emergency/sandbox/server.ts
 */
import path from "node:path";
import type { Db } from "../../../platform/db";
import { invalid as invalidIn } from "../../../sandbox-kit/errors";
import { idempotencyKeyOf } from "../../../sandbox-kit/http";
import { runSandbox } from "../../../sandbox-kit/main";
import { prepareDb } from "../../../sandbox-kit/setup";
import { serve, type ListenOptions, type Route, type SandboxServer } from "../../../sandbox-kit/server";
import { AgencyError, dispatchUnits, EMERGENCY, findIncident, receiveAlert, seedIfEmpty, SCHEMA } from "./cad";

export { NO_FAULTS, type Faults } from "../../../sandbox-kit/faults";

const UNIT_TYPES = ["FIRE_ENGINE", "AMBULANCE", "POLICE", "HAZMAT"];
const invalid = (message: string) => invalidIn(EMERGENCY, message);

function cadRoutes(db: Db): Route[] {
  return [
    {
      method: "POST",
      pattern: /^\/cad\/v1\/alerts$/,
      successStatus: 201,
      accepts: /^application\/(cap\+)?xml\b/i,
      malformed: [{ receiptId: 42 }, { incidentNo: "nope", status: "OK" }, {}],
      async handle(req) {
        const key = idempotencyKeyOf(req.headers, EMERGENCY);
        return receiveAlert(db, key, await req.text());
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
        const body = await req.object();
        const units = body.units;
        if (Object.keys(body).some((k) => k !== "units")) throw invalid('only the field "units" is allowed');
        if (!Array.isArray(units) || units.length === 0 || units.length > 4) throw invalid("units must be a list of 1 to 4 {type, count}");
        for (const u of units as Record<string, unknown>[])
          if (
            typeof u !== "object" ||
            u === null ||
            !UNIT_TYPES.includes(u.type as string) ||
            !Number.isInteger(u.count) ||
            (u.count as number) < 1 ||
            (u.count as number) > 10
          )
            throw invalid(`each unit request is {type: ${UNIT_TYPES.join("|")}, count: 1 to 10}`);
        return dispatchUnits(db, key, req.params[0]!, units as { type: "FIRE_ENGINE"; count: number }[]);
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

export async function startSandbox(opts: ListenOptions): Promise<SandboxServer & { seeded: number }> {
  const { db } = opts;
  const { seeded } = await prepareDb(db, SCHEMA, path.join(__dirname, "migrations"), () => seedIfEmpty(db));
  const server = await serve(opts, {
    name: "emergency",
    dialect: EMERGENCY,
    prefix: "/cad/",
    routes: cadRoutes(db),
    outageMessage: "the dispatch system is unavailable",
  });
  return { url: server.url, seeded, close: server.close };
}

if (require.main === module)
  runSandbox({
    name: "emergency",
    urlSetting: "emergencyUrl",
    start: startSandbox,
    logFields: (sandbox) => ({ seededUnits: sandbox.seeded }),
  });
