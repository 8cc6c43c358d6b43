/**
 * Configuration from environment variables: one table, validated at start-up.
 * The configuration table in docs/configuration.md is checked against this list by a unit test.
 */
import os from "node:os";
import path from "node:path";

type Parse<T> = (raw: string) => T;

interface Setting<T, D extends string | undefined = string | undefined> {
  env: string;
  default: D;
  doc: string;
  parse: Parse<T>;
}

const text: Parse<string> = (raw) => raw;
const port: Parse<number> = (raw) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error("must be a port number (0-65535)");
  return n;
};
const portOrOff: Parse<number | undefined> = (raw) => (raw === "off" ? undefined : port(raw));
/** A positive whole number, `of` naming its unit in the error. */
const positive =
  (of = ""): Parse<number> =>
  (raw) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`must be a positive whole number${of && ` of ${of}`}`);
    return n;
  };
const millis = positive("milliseconds");
const seconds = positive("seconds");
const whole = positive();
const days = positive("days");
const replicas: Parse<number> = (raw) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 5) throw new Error("must be a whole number from 1 to 5 (JetStream's limit)");
  return n;
};
const millisList: Parse<number[]> = (raw) => {
  const list = raw.split(",").map((x) => Number(x.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error("must be a comma list of positive whole numbers of milliseconds");
  return list;
};
const url =
  (...protocols: string[]): Parse<string> =>
  (raw) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new Error(`must be a URL (${protocols.join(" or ")})`);
    }
    if (!protocols.includes(parsed.protocol.replace(/:$/, ""))) throw new Error(`must use ${protocols.join(" or ")}`);
    return raw.replace(/\/$/, "");
  };
/** A comma list of URLs, each as `url` checks it; kept as one string, `a,b,c` (read it with `natsServers`). */
const urlList =
  (...protocols: string[]): Parse<string> =>
  (raw) => {
    const list = raw
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (list.length === 0) throw new Error(`must be a URL (${protocols.join(" or ")}) or a comma list of them`);
    return list.map(url(...protocols)).join(",");
  };
const hostPort: Parse<string> = (raw) => {
  if (!/^[\w.-]+:\d+$/.test(raw)) throw new Error("must be host:port");
  return raw;
};
const oneOf =
  <T extends string>(...values: T[]): Parse<T> =>
  (raw) => {
    if (!values.includes(raw as T)) throw new Error(`must be one of ${values.join(", ")}`);
    return raw as T;
  };
const identifierPart: Parse<string> = (raw) => {
  if (!/^[A-Za-z0-9._~-]{1,100}$/.test(raw)) throw new Error("must be 1 to 100 of letters, digits and . _ ~ -");
  return raw;
};
export const SERVICE_ROLES = ["api", "civil-registry", "emergency", "linkages", "worker", "utilities", "crowd", "flights"] as const;
export type ServiceRole = (typeof SERVICE_ROLES)[number];
const roles: Parse<ServiceRole[]> = (raw) => {
  const list = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 1 && list[0] === "all") return [...SERVICE_ROLES];
  for (const r of list) if (!SERVICE_ROLES.includes(r as ServiceRole)) throw new Error(`unknown service "${r}"; known: all, ${SERVICE_ROLES.join(", ")}`);
  if (list.length === 0) throw new Error("names no service");
  return list as ServiceRole[];
};

const origins: Parse<string[]> = (raw) => {
  const list = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const o of list) if (!/^https?:\/\/[^/\s]+$/.test(o)) throw new Error(`"${o}" is not an origin (scheme://host[:port], no path)`);
  if (!list.length) throw new Error("names no origin");
  return list;
};

const setting = <T, D extends string | undefined>(env: string, def: D, doc: string, parse: Parse<T>): Setting<T, D> => ({ env, default: def, doc, parse });

export const SETTINGS = {
  services: setting(
    "HUB_SERVICES",
    "all",
    "Services this node runs: `all` or a comma list of api, civil-registry, emergency, linkages, worker, utilities, crowd, flights (one node of the crowd role watches the key places; the flights role answers drone flight reports)",
    roles,
  ),
  instance: setting(
    "HUB_INSTANCE",
    "LOCAL",
    "The X-Road / GovStack instance this hub serves: the first part of every subsystem and service id",
    identifierPart,
  ),
  namespace: setting("HUB_NAMESPACE", "linkage-hub", "Moleculer namespace: nodes join each other only within one namespace on one NATS", text),
  nodeId: setting("HUB_NODE_ID", undefined, "Moleculer node id (default: host name and process id)", text),
  host: setting("HUB_HOST", "127.0.0.1", "Address the REST gateway and the metrics server listen on", text),
  port: setting("HUB_PORT", "3000", "REST gateway port (`/v1`, `/openapi.json`, `/healthz`, `/readyz`, `/metrics`)", port),
  metricsPort: setting("HUB_METRICS_PORT", "0", "Port for `/metrics`, `/healthz` and `/readyz` on a node without the gateway (0: any free port, logged)", port),
  dataDir: setting("HUB_DATA_DIR", ".data", "Where the embedded stack keeps its state (NATS store, Temporal database, PGlite)", text),
  logLevel: setting("LOG_LEVEL", "info", "Log level: fatal, error, warn, info, debug, trace", oneOf("fatal", "error", "warn", "info", "debug", "trace")),
  shutdownTimeoutMs: setting("HUB_SHUTDOWN_TIMEOUT_MS", "15000", "How long a stopping node waits for in-flight work", millis),
  natsUrl: setting(
    "NATS_URL",
    "nats://127.0.0.1:4222",
    "NATS server (JetStream enabled), or a comma list of the servers of one NATS cluster (the client connects to any, and to another when that one goes)",
    urlList("nats", "tls"),
  ),
  natsCreds: setting(
    "NATS_CREDS",
    undefined,
    "NATS credentials (`.creds` file: user JWT and seed) for every NATS connection of the hub; unset: `nats-auth/hub.creds` in `HUB_DATA_DIR` if the stack made one, else none; `none`: no credentials",
    text,
  ),
  natsSystemCreds: setting(
    "NATS_SYSTEM_CREDS",
    undefined,
    "Credentials of a NATS system-account user: the gateway node counts the server's authentication refusals (`hub_nats_refusals_total`) and takes a node whose connection closed for good out of balancing at once (else its heartbeats are missed first, 6 to 12 s); unset: `nats-auth/system.creds` in `HUB_DATA_DIR` if the stack made one",
    text,
  ),
  natsTlsCa: setting("NATS_TLS_CA", undefined, "CA file (PEM) that signed the NATS server's certificate; set: the hub's NATS connections require TLS", text),
  natsTlsCert: setting("NATS_TLS_CERT", undefined, "Client certificate (PEM) for NATS connections, where the server asks for one (with `NATS_TLS_KEY`)", text),
  natsTlsKey: setting("NATS_TLS_KEY", undefined, "Key (PEM) of `NATS_TLS_CERT`", text),
  natsServerTlsCert: setting(
    "NATS_SERVER_TLS_CERT",
    undefined,
    "Certificate (PEM) the NATS server started by the stack serves TLS with (with `NATS_SERVER_TLS_KEY`); clients then need `NATS_TLS_CA`",
    text,
  ),
  natsServerTlsKey: setting("NATS_SERVER_TLS_KEY", undefined, "Key (PEM) of `NATS_SERVER_TLS_CERT`", text),
  streamReplicas: setting(
    "HUB_STREAM_REPLICAS",
    "1",
    "Replicas of each of the hub's JetStream streams (and their consumers): 1 on one NATS server, 3 on a NATS cluster of 3 (a stream then survives the loss of any one server); at most the cluster's size, at most 5",
    replicas,
  ),
  temporalAddress: setting("TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend (host:port)", hostPort),
  temporalNamespace: setting("TEMPORAL_NAMESPACE", "default", "Temporal namespace", text),
  temporalTaskQueue: setting("TEMPORAL_TASK_QUEUE", "linkages", "Task queue the linkage workflows run on", text),
  defaultPartner: setting(
    "HUB_DEFAULT_PARTNER",
    "local",
    "Partner recorded on linkages (LinkagePartner search attribute) until partner access identifies callers",
    text,
  ),
  tokenIssuer: setting("HUB_TOKEN_ISSUER", "urn:linkage-hub", "Issuer (`iss`) of the access tokens the hub signs", text),
  tokenAudience: setting("HUB_TOKEN_AUDIENCE", "linkage-hub", "Audience (`aud`) of the access tokens; tokens for another audience are refused", text),
  tokenTtlS: setting("HUB_TOKEN_TTL_S", "300", "How long an access token is valid", seconds),
  ownCallsQuota: setting(
    "HUB_OWN_CALLS_QUOTA",
    "60000",
    "Calls a minute the hub may make to catalogue services for itself (its linkages subsystem: linkages no partner started, flight reports' checks, the key places' reads), all services together; a partner's linkage calls on the partner's quota",
    whole,
  ),
  idempotencyTtlS: setting("HUB_IDEMPOTENCY_TTL_S", "86400", "How long an `Idempotency-Key` and its answer are kept", seconds),
  webhookBackoffMs: setting(
    "HUB_WEBHOOK_BACKOFF_MS",
    "1000,5000,30000,120000,600000,1800000,3600000,7200000",
    "Waits between webhook delivery attempts (their count + 1 attempts, then the dead-letter stream)",
    millisList,
  ),
  retentionEveryMs: setting(
    "HUB_RETENTION_EVERY_MS",
    "600000",
    "How often the gateway's node runs the retention jobs (`hub_retention_removed_total`): idempotent answers, webhook deliveries, handled-event records, permit applications, flight reports, and counts what the streams dropped",
    millis,
  ),
  webhookRetentionDays: setting(
    "HUB_WEBHOOK_RETENTION_DAYS",
    "30",
    "How long a webhook delivery's record (hub.webhook_delivery: the event sent and each attempt's answer) is kept after its last attempt",
    days,
  ),
  eventsRetentionDays: setting(
    "HUB_EVENTS_RETENTION_DAYS",
    "30",
    "How long the EVENTS stream keeps an event (its `max_age`, set by every node at start-up)",
    days,
  ),
  deadLettersRetentionDays: setting(
    "HUB_DEAD_LETTERS_RETENTION_DAYS",
    "90",
    "How long the DEAD_LETTERS stream keeps what a consumer group gave up on (its `max_age`, set by every node at start-up)",
    days,
  ),
  permitApplicationsRetentionDays: setting(
    "HUB_PERMIT_APPLICATIONS_RETENTION_DAYS",
    "90",
    "How long an event permit application's organiser contact (hub.permit_application) is kept after its linkage ended",
    days,
  ),
  flightReportsRetentionDays: setting(
    "HUB_FLIGHT_REPORTS_RETENTION_DAYS",
    "90",
    "How long a drone flight report (hub.flight_report: the drone's registration, where and when it flew) is kept after the flight's hours ended",
    days,
  ),
  temporalRetentionDays: setting(
    "HUB_TEMPORAL_RETENTION_DAYS",
    "7",
    "How long Temporal keeps a closed linkage's workflow (the namespace's retention, set by the stack on the Temporal it starts); its outcome stays in the hub's database",
    days,
  ),
  auditKey: setting("HUB_AUDIT_KEY", undefined, "The audit keys as JSON (`subjectKey`, `signingKey` PEM); unset: the file `HUB_AUDIT_KEY_FILE`", text),
  auditKeyFile: setting(
    "HUB_AUDIT_KEY_FILE",
    undefined,
    "File of the audit keys (created on first use); unset: `audit-key.json` in `HUB_DATA_DIR`. Keep it out of the database's backups",
    text,
  ),
  payloadKeys: setting(
    "HUB_PAYLOAD_KEYS",
    undefined,
    'The workflow payload keys as JSON (`{"current": id, "keys": {id: base64 of 32 bytes}}`); unset: the file `HUB_PAYLOAD_KEYS_FILE`',
    text,
  ),
  payloadKeysFile: setting(
    "HUB_PAYLOAD_KEYS_FILE",
    undefined,
    "File of the workflow payload keys (created on first use, 0600; `keys rotate payload` adds one); unset: `payload-keys.json` in `HUB_DATA_DIR`. Never in a database or its backups",
    text,
  ),
  codecOrigins: setting(
    "HUB_CODEC_ORIGINS",
    undefined,
    "Origins (comma list) of Temporal UI pages whose browsers may call the codec server (CORS with credentials); unset: `http://127.0.0.1:<TEMPORAL_UI_PORT>` and `http://localhost:<TEMPORAL_UI_PORT>`, the UI of `npm start`",
    origins,
  ),
  codecMaxBodyBytes: setting(
    "HUB_CODEC_MAX_BODY_BYTES",
    "4194304",
    "The largest request the codec server takes (bytes; a larger one is refused with 413)",
    whole,
  ),
  payloadCodec: setting(
    "HUB_PAYLOAD_CODEC",
    "on",
    "`off` stores workflow payloads in clear in Temporal: for benchmarks only (`bench:linkages` compares both); a node with it off cannot read encrypted linkages",
    oneOf("on", "off"),
  ),
  auditCheckpointMs: setting("HUB_AUDIT_CHECKPOINT_MS", "5000", "How often the audit chain's head is signed (a checkpoint)", millis),
  auditVerifyMs: setting(
    "HUB_AUDIT_VERIFY_MS",
    "60000",
    "How often the gateway node verifies the audit chain's newly signed records (`hub_audit_chain_intact`)",
    millis,
  ),
  agencyProbeMs: setting("HUB_AGENCY_PROBE_MS", "5000", "How often each adapter probes its agency's `/healthz` (`hub_agency_up`)", millis),
  figuresFlushMs: setting(
    "HUB_FIGURES_FLUSH_MS",
    "5000",
    "How often a node adds what it counted for the catalogue's figures (calls, linkage ends, probes) to the daily rollups (`hub.service_day`)",
    millis,
  ),
  serviceProbeMs: setting(
    "HUB_SERVICE_PROBE_MS",
    "60000",
    "How often the gateway probes each enabled registered service (a `GET` of its base URL) for the catalogue's availability figure",
    millis,
  ),
  workerMetricsPort: setting(
    "HUB_WORKER_METRICS_PORT",
    "9464",
    "Port where a worker node's Temporal SDK serves its Prometheus metrics (`off`: none)",
    portOrOff,
  ),
  suspensionDeadlineMs: setting(
    "LINKAGE_SUSPENSION_DEADLINE_MS",
    "120000",
    "How long an incident linkage waits for the utility to confirm a suspension before it escalates (an event and a metric); it keeps trying",
    millis,
  ),
  notifyRetryMs: setting(
    "LINKAGE_NOTIFY_RETRY_MS",
    "60000,600000,3600000,21600000,86400000",
    "Waits before each further attempt at a catalogue service an address-change notification could not reach (its count is the number of retries); fixed for each linkage when it starts",
    millisList,
  ),
  permitDocumentDeadlineMs: setting(
    "PERMIT_DOCUMENT_DEADLINE_MS",
    "259200000",
    "How long an event permit application waits for a document an agency asked for (the organiser's `document` signal) before it lapses (REFUSED, DOCUMENT_NOT_RECEIVED); fixed for each application when it starts",
    millis,
  ),
  crowdStaleMs: setting(
    "CROWD_STALE_MS",
    "120000",
    "A counting device's reading stops counting towards its key place's crowd this long after its `at` (the device shows as stale)",
    millis,
  ),
  crowdPlacesSyncMs: setting(
    "CROWD_PLACES_SYNC_MS",
    "60000",
    "How often the crowd node reads public security's key places (`GET /key-places`, through the catalogue) to keep the attractions and their capacities in step",
    millis,
  ),
  flightsSyncMs: setting(
    "FLIGHTS_SYNC_MS",
    "60000",
    "How often a flights node reads the aviation authority's no-fly zones and public security's open event areas (through the catalogue) into memory; event areas also arrive with `permits.key-place.*` at once",
    millis,
  ),
  dispatchDeadlineMs: setting(
    "DISPATCH_DEADLINE_MS",
    "120000",
    "How long a crowd-dispatch linkage waits for public security to confirm police units at a critical key place before it escalates (an event and a metric); it keeps trying; fixed for each linkage when it starts",
    millis,
  ),
  dispatchClearAfterMs: setting(
    "DISPATCH_CLEAR_AFTER_MS",
    "600000",
    "How long a key place must stay below `warning` before its crowd-dispatch linkage gives the all-clear (a CAP Update to the emergency services) and releases the units; fixed for each linkage when it starts",
    millis,
  ),
  dispatchPollMs: setting(
    "DISPATCH_POLL_MS",
    "5000",
    "How often a crowd-dispatch linkage asks public security whether its units are confirmed (and asks again for units after a NO_UNITS answer); fixed for each linkage when it starts",
    millis,
  ),
  temporalUiPort: setting("TEMPORAL_UI_PORT", "8233", "Port of the Temporal web UI started by the embedded stack", port),
  temporalMetricsPort: setting("TEMPORAL_METRICS_PORT", "9233", "Port of the Prometheus metrics of the Temporal server started by the embedded stack", port),
  databaseUrl: setting(
    "DATABASE_URL",
    undefined,
    "PostgreSQL URL; unset: embedded PGlite under `HUB_DATA_DIR` (`npm start`) or the local cluster (`npm test`)",
    url("postgres", "postgresql"),
  ),
  civilRegistryUrl: setting(
    "CIVIL_REGISTRY_URL",
    "http://127.0.0.1:4101",
    "Base URL of the civil registry system (the sandbox by default)",
    url("http", "https"),
  ),
  civilRegistryTimeoutMs: setting("CIVIL_REGISTRY_TIMEOUT_MS", "5000", "Timeout of one call to the civil registry", millis),
  civilRegistryToken: setting("CIVIL_REGISTRY_TOKEN", undefined, "Bearer token for the civil registry, where its system requires one", text),
  emergencyUrl: setting("EMERGENCY_URL", "http://127.0.0.1:4102", "Base URL of the emergency services system (the sandbox by default)", url("http", "https")),
  emergencyTimeoutMs: setting("EMERGENCY_TIMEOUT_MS", "5000", "Timeout of one call to the emergency services system", millis),
  emergencyToken: setting("EMERGENCY_TOKEN", undefined, "Bearer token for the emergency services system, where it requires one", text),
  utilitiesUrl: setting("UTILITIES_URL", "http://127.0.0.1:4103", "Base URL of the utilities system (the sandbox by default)", url("http", "https")),
  utilitiesTimeoutMs: setting("UTILITIES_TIMEOUT_MS", "5000", "Timeout of one call to the utilities system", millis),
  utilitiesToken: setting("UTILITIES_TOKEN", undefined, "Bearer token for the utilities system, where it requires one", text),
  publicSecurityUrl: setting(
    "PUBLIC_SECURITY_URL",
    "http://127.0.0.1:4104",
    "Base URL of public security's system (event security reviews, key places), registered in the catalogue by the stacks (the sandbox by default)",
    url("http", "https"),
  ),
  fireSafetyUrl: setting(
    "FIRE_SAFETY_URL",
    "http://127.0.0.1:4105",
    "Base URL of the fire service's system (venue inspections), registered in the catalogue by the stacks (the sandbox by default)",
    url("http", "https"),
  ),
  aviationUrl: setting(
    "AVIATION_URL",
    "http://127.0.0.1:4106",
    "Base URL of the aviation authority's drone registry (operators, drones, no-fly zones), registered in the catalogue by the stacks (the sandbox by default)",
    url("http", "https"),
  ),
} satisfies Record<string, Setting<unknown>>;

type Settings = typeof SETTINGS;
export type Config = { [K in keyof Settings]: Settings[K] extends Setting<infer T, infer D> ? (D extends string ? T : T | undefined) : never };

export class ConfigError extends Error {}

/** Reads and checks every setting; throws one error naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, s] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    const raw = env[s.env] || s.default;
    if (raw === undefined) continue;
    try {
      out[key] = s.parse(raw);
    } catch (err) {
      problems.push(`${s.env}=${JSON.stringify(raw)} ${(err as Error).message}`);
    }
  }
  if (problems.length) throw new ConfigError(`Invalid configuration:\n  ${problems.join("\n  ")}`);
  const config = out as Config;
  config.nodeId ??= `${os.hostname()}-${process.pid}`;
  config.dataDir = path.resolve(config.dataDir);
  return config;
}
