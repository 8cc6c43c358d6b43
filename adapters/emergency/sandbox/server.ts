/**
 * The emergency services sandbox: plays the agency's dispatch system (CAD) in development
 * and tests, with fault injection on every `/cad/...` request (sandbox-kit/). Wiring only:
 * routes in routes.ts, records in store.ts, the CAD's reading of requests in format.ts.
 *
 * Run it: node --import tsx adapters/emergency/sandbox/server.ts
 */
import path from "node:path";
import { runSandbox } from "../../../sandbox-kit/main";
import { prepareDb } from "../../../sandbox-kit/setup";
import { serve, type ListenOptions, type SandboxServer } from "../../../sandbox-kit/server";
import { EMERGENCY } from "./format";
import { routes } from "./routes";
import { SCHEMA, seedIfEmpty } from "./store";

export { NO_FAULTS, type Faults } from "../../../sandbox-kit/faults";

export async function startSandbox(opts: ListenOptions): Promise<SandboxServer & { seeded: number }> {
  const { db } = opts;
  const { seeded } = await prepareDb(db, SCHEMA, path.join(__dirname, "migrations"), () => seedIfEmpty(db));
  const server = await serve(opts, {
    name: "emergency",
    dialect: EMERGENCY,
    prefix: "/cad/",
    routes: routes(db),
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
