/**
 * The civil registry sandbox: plays the agency's own system in development and tests, in the
 * agency's own JSON format (format.ts), with fault injection on every `/registry/...` request
 * (routes.ts), its records in schema sandbox_civil_registry (store.ts). Besides: the JWKS
 * (`/.well-known/jwks.json`), `/healthz`, and for tests `/_sandbox/citizens`,
 * `/_sandbox/keys/rotate` and `/_sandbox/faults` (the plumbing: sandbox-kit/).
 *
 * Run it: node --import tsx adapters/civil-registry/sandbox/server.ts
 */
import path from "node:path";
import { runSandbox } from "../../../sandbox-kit/main";
import { prepareDb } from "../../../sandbox-kit/setup";
import { serve, type ListenOptions, type SeededSandbox } from "../../../sandbox-kit/server";
import { REGISTRY } from "./format";
import { registryEndpoints, registryRoutes } from "./routes";
import { ensureSigningKey, SCHEMA, seedIfEmpty } from "./store";

export { NO_FAULTS, type Faults } from "../../../sandbox-kit/faults";

export async function startSandbox(opts: ListenOptions & { seedCount?: number }): Promise<SeededSandbox> {
  const { db } = opts;
  const { seeded, seedMs } = await prepareDb(db, SCHEMA, path.join(__dirname, "migrations"), () => seedIfEmpty(db, opts.seedCount ?? 3000));
  await ensureSigningKey(db);

  // The e-ID issuer is the sandbox's own URL, known once it listens.
  let url = "";
  const server = await serve(opts, {
    name: "civil-registry",
    dialect: REGISTRY,
    prefix: "/registry/",
    routes: registryRoutes(db, () => url),
    outageMessage: "the registry is unavailable",
    endpoints: registryEndpoints(db),
  });
  url = server.url;
  return { url, seeded, seedMs, close: server.close };
}

if (require.main === module)
  runSandbox({
    name: "civil-registry",
    urlSetting: "civilRegistryUrl",
    start: startSandbox,
  });
