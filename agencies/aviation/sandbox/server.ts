/**
 * The aviation authority sandbox: plays the drone registry (operators, drones, no-fly zones) in
 * development and tests, as the document agencies/aviation/openapi.yaml describes it, with
 * fault injection on every route (sandbox-kit/). Wiring only: routes in routes.ts, records and
 * seed in registry.ts. `/_sandbox/no-fly-zones` loads zones (tests, the bench) and removes them
 * by id prefix.
 *
 * Run it: node --import tsx agencies/aviation/sandbox/server.ts
 */
import path from "node:path";
import { runSandbox } from "../../../sandbox-kit/main";
import { documentSchemas, problemDialect } from "../../../sandbox-kit/problem";
import { prepareDb } from "../../../sandbox-kit/setup";
import { serve, type ListenOptions, type SeededSandbox } from "../../../sandbox-kit/server";
import { addZones, AGENCY, removeZones, SCHEMA, seedRegistry, type NoFlyZone } from "./registry";
import { routes } from "./routes";

export async function startSandbox(opts: ListenOptions): Promise<SeededSandbox> {
  const { db } = opts;
  const seed = () =>
    db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${SCHEMA}:seed`]);
      return seedRegistry(tx);
    });
  const { seeded, seedMs } = await prepareDb(db, SCHEMA, path.join(__dirname, "migrations"), seed);
  const dialect = problemDialect(AGENCY);
  const schemas = documentSchemas(AGENCY, path.join(__dirname, "../openapi.yaml"));
  const server = await serve(opts, {
    name: AGENCY,
    dialect,
    prefix: ["/operators", "/drones", "/no-fly-zones"],
    routes: routes(db),
    endpoints: {
      "POST /_sandbox/no-fly-zones": async (req) => {
        const { zones } = schemas.read<{ zones: NoFlyZone[] }>("NoFlyZoneList", await req.json());
        await addZones(db, zones);
        return { status: 201, body: { added: zones.length } };
      },
      "DELETE /_sandbox/no-fly-zones": async (req) => {
        const prefix = req.query.get("prefix") ?? "";
        if (prefix.length < 5) return { status: 400, body: { detail: "prefix: at least NFZ-<something>, so the seeded zones stay" } };
        return { status: 200, body: { removed: await removeZones(db, prefix) } };
      },
    },
    outageMessage: "the aviation authority's registry is unavailable",
  });
  return { url: server.url, seeded, seedMs, close: server.close };
}

if (require.main === module) runSandbox({ name: AGENCY, urlSetting: "aviationUrl", start: startSandbox });
