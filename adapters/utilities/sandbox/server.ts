/**
 * The utilities sandbox: plays the utility's own system in development and tests, with
 * fault injection on every `/utility/...` request (sandbox-kit/). Wiring only: routes in
 * routes.ts, records in store.ts, the utility's reading of requests in format.ts.
 *
 * Run it: node --import tsx adapters/utilities/sandbox/server.ts
 */
import path from "node:path";
import { runSandbox } from "../../../sandbox-kit/main";
import { prepareDb } from "../../../sandbox-kit/setup";
import { serve, type ListenOptions, type SeededSandbox } from "../../../sandbox-kit/server";
import { readHolders, UTILITY } from "./format";
import { routes } from "./routes";
import { createAccounts, SCHEMA, seedIfEmpty } from "./store";

export { NO_FAULTS, type Faults } from "../../../sandbox-kit/faults";

export async function startSandbox(
  opts: ListenOptions & {
    /** How many of the seeded synthetic citizens get accounts (default: 3000, as many as the civil registry sandbox seeds). */
    seedCount?: number;
  },
): Promise<SeededSandbox> {
  const { db } = opts;
  const { seeded, seedMs } = await prepareDb(db, SCHEMA, path.join(__dirname, "migrations"), () => seedIfEmpty(db, opts.seedCount ?? 3000));
  const server = await serve(opts, {
    name: "utilities",
    dialect: UTILITY,
    prefix: "/utility/",
    routes: routes(db),
    outageMessage: "the utility system is unavailable",
    endpoints: {
      "POST /_sandbox/accounts": async (req) => ({ status: 201, body: await createAccounts(db, readHolders(await req.json())) }),
    },
  });
  return { url: server.url, seeded, seedMs, close: server.close };
}

if (require.main === module)
  runSandbox({
    name: "utilities",
    urlSetting: "utilitiesUrl",
    start: startSandbox,
  });
