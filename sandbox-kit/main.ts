/** Running a sandbox on its own: `node --import tsx adapters/<agency>/sandbox/server.ts`. */
import path from "node:path";
import { ConfigError, loadConfig } from "../platform/config";
import { openDb } from "../platform/db";
import type { ListenOptions, SandboxServer, SeededSandbox } from "./server";

/** The settings of the agencies' base URLs, where their sandboxes listen. */
export type SandboxUrlSetting = "civilRegistryUrl" | "emergencyUrl" | "utilitiesUrl" | "publicSecurityUrl" | "fireSafetyUrl" | "aviationUrl";

const seedFields = (sandbox: Partial<SeededSandbox>) => ({ seeded: sandbox.seeded, seedMs: sandbox.seedMs });

export function runSandbox<S extends SandboxServer>(opts: {
  /** The agency's name in log lines and the PGlite directory (`sandbox-<name>`). */
  name: string;
  /** The setting of the URL the sandbox listens on (the agency's base URL for the hub). */
  urlSetting: SandboxUrlSetting;
  start: (listen: ListenOptions) => Promise<S>;
  /** What the "listening" log line says beyond the url and the db kind (default: seeded, seedMs). */
  logFields?: (sandbox: S) => Record<string, unknown>;
}): void {
  async function main(): Promise<void> {
    let config;
    try {
      config = loadConfig();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      console.error(err.message);
      process.exit(1);
    }
    const target = new URL(config[opts.urlSetting]);
    // civilRegistryUrl -> CIVIL_REGISTRY_URL, the variable the setting is read from.
    const variable = opts.urlSetting.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
    if (target.protocol !== "http:") throw new ConfigError(`${variable}: the sandbox serves plain http only`);
    const db = await openDb({ url: config.databaseUrl, pgliteDir: path.join(config.dataDir, `sandbox-${opts.name}`) });
    const sandbox = await opts.start({ host: target.hostname.replace(/^\[|\]$/g, ""), port: Number(target.port || 80), db });
    console.log(
      JSON.stringify({ level: "info", msg: `${opts.name} sandbox listening`, url: sandbox.url, db: db.kind, ...(opts.logFields ?? seedFields)(sandbox) }),
    );
    const stop = async () => {
      await sandbox.close();
      await db.close();
      process.exit(0);
    };
    process.once("SIGINT", () => void stop());
    process.once("SIGTERM", () => void stop());
  }
  void main().catch((err: unknown) => {
    console.error(JSON.stringify({ level: "fatal", msg: `${opts.name} sandbox failed to start`, err: (err as Error).message }));
    process.exit(1);
  });
}
