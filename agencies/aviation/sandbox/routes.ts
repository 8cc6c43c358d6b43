/** The aviation authority's routes: operators, drones and no-fly zones, read-only. */
import type { Db } from "../../../platform/db";
import type { Route } from "../../../sandbox-kit/server";
import { getDrone, getOperator, getZone, listZones, ownersDrones } from "./registry";

const ID_NUMBER = "([0-9]{17}[0-9X])";
const REGISTRATION = "(UA-[0-9]{4}-[0-9]{6})";
const ZONE = "(NFZ-[0-9A-Z-]{4,32})";

export function routes(db: Db): Route[] {
  return [
    {
      method: "GET",
      pattern: new RegExp(`^/operators/${ID_NUMBER}$`),
      successStatus: 200,
      malformed: [{ idNumber: 1 }, { licenceClass: "Z" }, []],
      handle: async ({ params }) => ({ status: 200, body: await getOperator(db, params[0]!) }),
    },
    {
      method: "GET",
      pattern: /^\/drones$/,
      successStatus: 200,
      malformed: [{ drones: "all" }, { drones: [{ registrationNo: 1 }] }, []],
      handle: async ({ query }) => ({ status: 200, body: await ownersDrones(db, query) }),
    },
    {
      method: "GET",
      pattern: new RegExp(`^/drones/${REGISTRATION}$`),
      successStatus: 200,
      malformed: [{ registrationNo: null }, { status: "FLYING" }, []],
      handle: async ({ params }) => ({ status: 200, body: await getDrone(db, params[0]!) }),
    },
    {
      method: "GET",
      pattern: /^\/no-fly-zones$/,
      successStatus: 200,
      malformed: [{ zones: "all" }, { zones: [{ zoneId: 1 }] }, []],
      handle: async () => ({ status: 200, body: await listZones(db) }),
    },
    {
      method: "GET",
      pattern: new RegExp(`^/no-fly-zones/${ZONE}$`),
      successStatus: 200,
      malformed: [{ zoneId: 1 }, { area: "everywhere" }, []],
      handle: async ({ params }) => ({ status: 200, body: await getZone(db, params[0]!) }),
    },
  ];
}
