/**
 * The public security sandbox: plays the police's own system (event security reviews, key
 * places, units and their dispatches) in development and tests, as the document agencies/public-security/openapi.yaml
 * describes it, with fault injection on every route (sandbox-kit/). Wiring only: routes in
 * routes.ts, decisions in ruling.ts, key places in key-places.ts, units and dispatches in
 * dispatches.ts, reviews in sandbox-kit/reviews.ts. `/_sandbox/dispatching` sets how dispatches
 * are answered (tests): confirmed after a delay, never, or no units.
 *
 * Run it: node --import tsx agencies/public-security/sandbox/server.ts
 */
import path from "node:path";
import { runSandbox } from "../../../sandbox-kit/main";
import { problemDialect } from "../../../sandbox-kit/problem";
import { prepareDb } from "../../../sandbox-kit/setup";
import { serve, type ListenOptions, type SeededSandbox } from "../../../sandbox-kit/server";
import { seedVenues } from "../../../sandbox-kit/venues";
import { AGENCY, SCHEMA, seedAttractions } from "./key-places";
import { OFFICERS } from "./ruling";
import { routes } from "./routes";
import { DEFAULT_DISPATCHING, parseDispatching, seedUnits, type Dispatching } from "./dispatches";

export async function startSandbox(opts: ListenOptions): Promise<SeededSandbox> {
  const { db } = opts;
  const seed = () =>
    db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${SCHEMA}:seed`]);
      return (await seedVenues(tx, SCHEMA, OFFICERS)) + (await seedAttractions(tx)) + (await seedUnits(tx));
    });
  const { seeded, seedMs } = await prepareDb(db, SCHEMA, path.join(__dirname, "migrations"), seed);
  const dialect = problemDialect(AGENCY);
  let dispatching: Dispatching = DEFAULT_DISPATCHING;
  const server = await serve(opts, {
    name: AGENCY,
    dialect,
    prefix: ["/security-reviews", "/key-places", "/units", "/dispatches"],
    routes: routes(db, dialect, () => dispatching),
    endpoints: {
      "GET /_sandbox/dispatching": async () => ({ status: 200, body: dispatching }),
      "PUT /_sandbox/dispatching": async (req) => ({ status: 200, body: (dispatching = parseDispatching(await req.json())) }),
      "DELETE /_sandbox/dispatching": async () => ({ status: 200, body: (dispatching = DEFAULT_DISPATCHING) }),
    },
    outageMessage: "the police's system is unavailable",
  });
  return { url: server.url, seeded, seedMs, close: server.close };
}

if (require.main === module) runSandbox({ name: AGENCY, urlSetting: "publicSecurityUrl", start: startSandbox });
