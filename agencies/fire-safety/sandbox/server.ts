/**
 * The fire safety sandbox: plays the fire service's own system (venue inspections) in
 * development and tests, as the document agencies/fire-safety/openapi.yaml describes it, with
 * fault injection on every route (sandbox-kit/). Wiring only: routes in routes.ts, decisions in
 * ruling.ts, reviews in sandbox-kit/reviews.ts.
 *
 * Run it: node --import tsx agencies/fire-safety/sandbox/server.ts
 */
import path from "node:path";
import { runSandbox } from "../../../sandbox-kit/main";
import { problemDialect } from "../../../sandbox-kit/problem";
import { prepareDb } from "../../../sandbox-kit/setup";
import { serve, type ListenOptions, type SeededSandbox } from "../../../sandbox-kit/server";
import { seedVenues } from "../../../sandbox-kit/venues";
import { OFFICERS } from "./ruling";
import { AGENCY, routes, SCHEMA } from "./routes";

export async function startSandbox(opts: ListenOptions): Promise<SeededSandbox> {
  const { db } = opts;
  const seed = () =>
    db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${SCHEMA}:seed`]);
      return seedVenues(tx, SCHEMA, OFFICERS);
    });
  const { seeded, seedMs } = await prepareDb(db, SCHEMA, path.join(__dirname, "migrations"), seed);
  const dialect = problemDialect(AGENCY);
  const server = await serve(opts, {
    name: AGENCY,
    dialect,
    prefix: ["/venues", "/inspections"],
    routes: routes(db, dialect),
    outageMessage: "the fire service's system is unavailable",
  });
  return { url: server.url, seeded, seedMs, close: server.close };
}

if (require.main === module) runSandbox({ name: AGENCY, urlSetting: "fireSafetyUrl", start: startSandbox });
