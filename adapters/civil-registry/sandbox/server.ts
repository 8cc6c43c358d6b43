/**
 * The civil registry sandbox: plays the agency's own system in development and tests, in the
 * agency's own JSON format (`citizenNo`, `fullName`, errors as `{errorCode, errorMessage}`),
 * with fault injection on every `/registry/...` request (routes.ts). Besides: the JWKS
 * (`/.well-known/jwks.json`), `/healthz`, and for tests `/_sandbox/citizens`,
 * `/_sandbox/keys/rotate` and `/_sandbox/faults` (the plumbing: platform/sandbox/).
 *
 * Run it: node --import tsx adapters/civil-registry/sandbox/server.ts
 */
import path from "node:path";
import { runSandbox } from "../../../sandbox-kit/main";
import { prepareDb } from "../../../sandbox-kit/setup";
import { serve, type ListenOptions, type SeededSandbox } from "../../../sandbox-kit/server";
import { ensureSigningKey, publicJwks, rotateSigningKey, SCHEMA } from "./credentials";
import { REGISTRY } from "./errors";
import { createCitizens, seedIfEmpty } from "./registry";
import { fields, invalid } from "./request";
import { registryRoutes } from "./routes";

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
    endpoints: {
      "GET /.well-known/jwks.json": async () => ({ status: 200, body: await publicJwks(db), headers: { "cache-control": "max-age=300" } }),
      "POST /_sandbox/citizens": async (req) => {
        const body = await req.object();
        fields(body, { count: "number" }, { minAge: "number", maxAge: "number" });
        const count = body.count as number;
        if (!Number.isInteger(count) || count < 1 || count > 1000) throw invalid("count must be a whole number from 1 to 1000");
        const ages = { minAge: body.minAge as number | undefined, maxAge: body.maxAge as number | undefined };
        if ([ages.minAge ?? 18, ages.maxAge ?? 80].some((a) => !Number.isInteger(a) || a < 0 || a > 120) || (ages.minAge ?? 18) > (ages.maxAge ?? 80))
          throw invalid("minAge and maxAge must be whole years, 0 <= minAge <= maxAge <= 120");
        return { status: 201, body: await createCitizens(db, count, ages) };
      },
      // A new key signs from now on; retired keys stay in the JWKS.
      "POST /_sandbox/keys/rotate": async () => ({ status: 201, body: await rotateSigningKey(db) }),
    },
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
