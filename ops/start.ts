/**
 * `npm start`: the whole hub on this machine. NATS (JetStream) and the Temporal dev server
 * with their state under HUB_DATA_DIR, the agency sandboxes, and one hub node running
 * every service on embedded PGlite (or DATABASE_URL); once it is ready, the catalogue agencies
 * registered (ops/stack/agencies.ts). Ctrl-C stops all of it, hub first.
 */
import path from "node:path";
import { ConfigError, loadConfig } from "../platform/config";
import { natsAuthDir, stackCredsFile } from "../platform/nats-auth";
import { stopAll, type Managed } from "./stack/processes";
import { MissingPieceError } from "./stack/provision";
import { registerAgencies, registrationLine } from "./stack/agencies";
import { SANDBOXES, startHubNode, startNats, startSandbox, startTemporal } from "./stack/services";

const HELP = `Usage: npm start [-- --help]

Starts the whole hub on this machine and prints its URLs; Ctrl-C stops everything it started.
  nats-server -js       NATS_URL (default nats://127.0.0.1:4222), store in $HUB_DATA_DIR/nats;
                        users and credentials in $HUB_DATA_DIR/nats-auth (docs/nats-auth.md)
  temporal start-dev    TEMPORAL_ADDRESS (default 127.0.0.1:7233), UI on TEMPORAL_UI_PORT (8233),
                        metrics on TEMPORAL_METRICS_PORT (9233); the UI decodes payloads
                        through the hub's codec server (docs/operators.md)
  agency sandboxes      CIVIL_REGISTRY_URL (default http://127.0.0.1:4101), EMERGENCY_URL (4102),
                        UTILITIES_URL (4103), PUBLIC_SECURITY_URL (4104), FIRE_SAFETY_URL (4105),
                        AVIATION_URL (4106); the last three are registered in the catalogue once the hub is ready
  hub node              all services; REST and /metrics on HUB_PORT (default 3000), the
                        Temporal worker's metrics on HUB_WORKER_METRICS_PORT (9464)
Services already listening at those addresses are used, not started. The database is
DATABASE_URL when set, else embedded PGlite in $HUB_DATA_DIR/pglite (default .data/).
Logs: $HUB_DATA_DIR/logs/. Every setting is listed in docs/configuration.md.`;

const say = (line: string) => console.log(`[stack] ${line}`);

async function main(): Promise<void> {
  if (process.argv.includes("--help") || process.argv.includes("-h")) return void console.log(HELP);
  const config = loadConfig();
  const logDir = path.join(config.dataDir, "logs");
  const started: Managed[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say("stopping: hub, sandbox, temporal, nats");
    await stopAll(started);
    say("stopped");
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  process.on("SIGHUP", () => void stop(0));

  try {
    if (!config.natsServerTlsCert !== !config.natsServerTlsKey)
      throw new ConfigError("NATS_SERVER_TLS_CERT and NATS_SERVER_TLS_KEY go together: set both or neither");
    const tls = config.natsServerTlsCert ? { cert: config.natsServerTlsCert, key: config.natsServerTlsKey! } : undefined;
    const nats = await startNats(config.natsUrl, config.dataDir, say, tls);
    started.push(nats);
    // A NATS it started admits the users made with it: the hub connects as the stack's own, whatever NATS_CREDS says.
    const natsUsers = nats.child
      ? { NATS_CREDS: stackCredsFile(config.dataDir), NATS_SYSTEM_CREDS: path.join(natsAuthDir(config.dataDir), "system.creds") }
      : {};
    const base = `http://${config.host}:${config.port}`;
    // The UI decodes workflow payloads through the hub's codec server, for a signed-in operator.
    const temporalPorts = { ui: config.temporalUiPort, metrics: config.temporalMetricsPort, codecEndpoint: `${base}/codec` };
    started.push(await startTemporal(config.temporalAddress, temporalPorts, config.dataDir, say));
    for (const sandbox of SANDBOXES) started.push(await startSandbox(sandbox.agency, config[sandbox.url], config.dataDir, {}, say));
    say("hub: starting all services (first start bundles the workflows, a few seconds)");
    started.push(await startHubNode("hub", { HUB_SERVICES: "all", ...natsUsers }, `${base}/readyz`, logDir));
    for (const r of await registerAgencies({ ...process.env, ...natsUsers })) say(registrationLine(r));
    for (const s of started)
      s.child?.once("exit", (code) => {
        if (!stopping) {
          say(`${s.name} exited unexpectedly (code ${code}); see ${s.logFile}`);
          void stop(1);
        }
      });
    console.log(`
Linkage Hub is running (database: ${config.databaseUrl ? "DATABASE_URL" : `embedded PGlite in ${path.join(config.dataDir, "pglite")}`})
  REST API      ${base}/v1
  API docs      ${base}/openapi.json
  Metrics       ${base}/metrics${config.workerMetricsPort === undefined ? "" : `  http://${config.host}:${config.workerMetricsPort}/metrics (Temporal worker)`}  http://${config.temporalAddress.split(":")[0]}:${config.temporalMetricsPort}/metrics (Temporal server)
  Prometheus    npm run ops:prometheus  (then http://127.0.0.1:9090)
  Health        ${base}/healthz  ${base}/readyz
  Temporal UI   http://${config.temporalAddress.split(":")[0]}:${config.temporalUiPort}  (payloads in clear for operators: sign in at ${base}/codec/)
  Codec server  ${base}/codec  (temporal ... --codec-endpoint ${base}/codec --codec-auth 'Basic ...'; npx linkage-hub operators add <name>)
${SANDBOXES.map((s) => `  Sandbox       ${config[s.url]}  (${s.agency})`).join("\n")}
  Logs          ${logDir}/
Press Ctrl-C to stop.`);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof MissingPieceError) console.error(`\n${err.message}\n`);
    else console.error(err);
    await stop(1);
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError || err instanceof MissingPieceError ? err.message : err);
  process.exit(1);
});
