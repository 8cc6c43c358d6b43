/**
 * `linkage-hub devices ...`: counting devices at key places (docs/crowd.md). Registers them with
 * the running hub's `crowd` service over NATS (whatever database it uses), or with no hub
 * answering and DATABASE_URL set, in PostgreSQL directly; and issues each device's NATS
 * credentials (role device: it may publish on `counts.<placeId>.<deviceId>` only) in the
 * hub's NATS authentication material, as `linkage-hub nats add-user` does.
 */
import fs from "node:fs";
import type { components } from "../../contracts/generated/types";
import { loadConfig } from "../../platform/config";
import { openDb } from "../../platform/db";
import { natsAuthDir } from "../../platform/nats-auth";
import { migrateHub } from "../../hub/schema";
import { addDevices, loadDevices, registerPlaces, removeDevices, setThresholds } from "../../crowd/registry";
import { NatsAuth } from "../stack/nats-auth";
import { hubBroker, noHub } from "./hub";
import { applied } from "./nats";
import { printer, subcommand, table, UsageError, type Options } from "./usage";

type Schemas = components["schemas"];
type Device = Schemas["CrowdDevices"]["devices"][number];

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const PLACE = /^[A-Za-z0-9_-]{1,200}$/;

const HELP: Record<string, string> = {
  "": `Usage: npx linkage-hub devices <add|import|list|remove|place|thresholds> [options]

  add          register a counting device at a key place and issue its NATS credentials
  import       register many devices from a file (and their places, with a capacity)
  list         the devices, their places and kinds
  remove       remove devices: their readings stop counting, their credentials are revoked
  place        register a key place by hand (one public security does not list), with its capacity
  thresholds   a key place's own warning and critical occupancy (default 0.8 and 1.0)

A device publishes its readings, JSON {deviceId, placeId, count, at}, on
counts.<placeId>.<deviceId> (stream COUNTS) with the credentials \`add\` writes; NATS refuses
it any other subject. The CLI reaches the running hub over NATS (NATS_URL, HUB_NAMESPACE); with
no hub running and DATABASE_URL set, PostgreSQL directly. Credentials go to --dir (default
$HUB_DATA_DIR/nats-auth, the NATS \`npm start\` runs). Every subcommand takes --help and --json.
See docs/crowd.md.`,
  add: `Usage: npx linkage-hub devices add <deviceId> --place <placeId> [--kind <kind>] [--dir <dir>] [--json]

Registers <deviceId> (1 to 64 of letters, digits, _ and -) at key place <placeId>; a registered
device moves there. Writes NATS user device-<deviceId>'s credentials to <dir>/device-<deviceId>.creds
(0600) and prints the path: that user may publish on counts.<placeId>.<deviceId> only.
--kind: camera, gate, phone-signal, ... (default counter).`,
  import: `Usage: npx linkage-hub devices import <file> [--no-creds] [--dir <dir>] [--json]

Registers every device of <file>, one a line: <deviceId>,<placeId>[,<kind>[,<capacity>]]
(blank lines and lines starting with # are skipped). A line with a capacity also registers
its place by hand with that capacity (unless public security lists it). Issues each device's
credentials as \`add\` does, saving the authentication state once; --no-creds issues none (a load
generator may publish for all devices as one device user with --subjects 'counts.>', made with
\`npx linkage-hub nats add-user <name> --role device --subjects 'counts.>'\`).`,
  list: `Usage: npx linkage-hub devices list [--place <placeId>] [--json]`,
  remove: `Usage: npx linkage-hub devices remove <deviceId>... [--dir <dir>] [--json]

Their readings stop counting at once; their NATS users are revoked (the server refuses them
once it has reloaded).`,
  place: `Usage: npx linkage-hub devices place <placeId> --capacity <people> [--name <text>] [--json]

Registers a key place to watch that public security does not list (a trial, a load test). A
place public security lists takes its capacity from there.`,
  thresholds: `Usage: npx linkage-hub devices thresholds <placeId> [--warning <fraction>] [--critical <fraction>] [--json]

The occupancy (count / capacity) from which the place is at warning and at critical, e.g.
--warning 0.7 --critical 0.9; \`default\` (or leaving one out) puts back 0.8 or 1.0.`,
};

const DIR: Options = { dir: { type: "string" } };
const OPTIONS: Record<string, Options> = {
  add: { ...DIR, place: { type: "string" }, kind: { type: "string" } },
  import: { ...DIR, "no-creds": { type: "boolean" } },
  list: { place: { type: "string" } },
  remove: DIR,
  place: { capacity: { type: "string" }, name: { type: "string" } },
  thresholds: { warning: { type: "string" }, critical: { type: "string" } },
};

/** Over NATS, one call carries at most this many devices (a NATS message is 1 MB at most). */
const CHUNK = 2000;

interface Registry {
  add(devices: Device[]): Promise<void>;
  places(places: Schemas["CrowdPlaces"]["places"]): Promise<void>;
  list(): Promise<Device[]>;
  remove(ids: string[]): Promise<Device[]>;
  thresholds(p: Schemas["CrowdPlaceThresholds"]): Promise<unknown>;
  close(): Promise<void>;
}

const chunks = <T>(list: T[]) => Array.from({ length: Math.ceil(list.length / CHUNK) }, (_, i) => list.slice(i * CHUNK, (i + 1) * CHUNK));

async function registry(): Promise<Registry> {
  const broker = await hubBroker("crowd");
  if (broker) {
    const call = <T>(action: string, params: object = {}) => broker.call<T, object>(`crowd.${action}`, params);
    return {
      add: async (devices) => {
        for (const part of chunks(devices)) await call("devices.add", { devices: part });
      },
      places: async (places) => {
        for (const part of chunks(places)) await call("places.register", { places: part });
      },
      list: async () => (await call<Schemas["CrowdDevices"]>("devices.list")).devices,
      remove: async (ids) => {
        const out: Device[] = [];
        for (const part of chunks(ids)) out.push(...(await call<Schemas["CrowdDevices"]>("devices.remove", { deviceIds: part })).devices);
        return out;
      },
      thresholds: (p) => call("places.thresholds", p),
      close: () => broker.stop(),
    };
  }
  const { databaseUrl } = loadConfig();
  if (!databaseUrl) throw new Error(`${noHub().message} Or set DATABASE_URL to manage devices in PostgreSQL directly.`);
  const db = await openDb({ url: databaseUrl, pgliteDir: "" });
  await migrateHub(db);
  return {
    add: (devices) => addDevices(db, devices),
    places: (places) => registerPlaces(db, places),
    list: () => loadDevices(db),
    remove: (ids) => removeDevices(db, ids),
    thresholds: (p) => setThresholds(db, p),
    close: () => db.close(),
  };
}

export const deviceUser = (deviceId: string) => `device-${deviceId}`;
export const countsSubject = (placeId: string, deviceId: string) => `counts.${placeId}.${deviceId}`;

function issueCreds(dir: string, devices: Device[]): string[] {
  const auth = NatsAuth.open(dir, loadConfig().namespace);
  return auth.addUsers(devices.map((d) => ({ name: deviceUser(d.deviceId), role: "device" as const, subjects: [countsSubject(d.placeId, d.deviceId)] })));
}

function readImport(file: string): { devices: Device[]; places: Schemas["CrowdPlaces"]["places"] } {
  const devices: Device[] = [];
  const places = new Map<string, number>();
  fs.readFileSync(file, "utf8")
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith("#")) return;
      const [deviceId = "", placeId = "", kind, capacity] = line.split(",").map((s) => s.trim());
      const where = `${file}:${i + 1}`;
      if (!ID.test(deviceId)) throw new UsageError(`${where}: device id "${deviceId}" must be 1 to 64 of letters, digits, _ and -`);
      if (!PLACE.test(placeId)) throw new UsageError(`${where}: place id "${placeId}" must be 1 to 200 of letters, digits, _ and -`);
      devices.push({ deviceId, placeId, ...(kind ? { kind } : {}) });
      if (capacity) {
        const n = Number(capacity);
        if (!Number.isInteger(n) || n < 1) throw new UsageError(`${where}: capacity "${capacity}" must be a whole number of people, at least 1`);
        places.set(placeId, n);
      }
    });
  return { devices, places: [...places].map(([placeId, capacity]) => ({ placeId, capacity })) };
}

const fraction = (value: unknown, name: string): number | null | undefined => {
  if (value === undefined || value === "default") return value === undefined ? undefined : null;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} is a fraction of the capacity (e.g. 0.8) or "default", not "${value}"`);
  return n;
};

type Print = ReturnType<typeof printer>;
interface Called {
  sub: string;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  dir: string;
  print: Print;
}

const one = ({ sub, positionals }: Called, what: string, pattern: RegExp) => {
  if (positionals.length !== 1 || !pattern.test(positionals[0]!)) throw new UsageError(`Name one ${what}.\n\n${HELP[sub]}`);
  return positionals[0]!;
};

export async function devicesCommand(args: string[]): Promise<void> {
  const called = subcommand(args, HELP, OPTIONS);
  if (!called) return;
  const { values } = called;
  const dir = values.dir ? String(values.dir) : natsAuthDir(loadConfig().dataDir);
  const c: Called = { ...called, dir, print: printer(Boolean(values.json)) };
  if (c.sub === "add") return addOne(c);
  if (c.sub === "import") return importFile(c);
  return manage(c);
}

async function addOne(c: Called): Promise<void> {
  const deviceId = one(c, "device id (1 to 64 of letters, digits, _ and -)", ID);
  const placeId = String(c.values.place ?? "");
  if (!PLACE.test(placeId)) throw new UsageError(`--place names the device's key place.\n\n${HELP.add}`);
  const device: Device = { deviceId, placeId, ...(c.values.kind ? { kind: String(c.values.kind) } : {}) };
  const reg = await registry();
  try {
    await reg.add([device]);
  } finally {
    await reg.close();
  }
  const [creds] = issueCreds(c.dir, [device]);
  c.print(
    { ...device, user: deviceUser(deviceId), subject: countsSubject(placeId, deviceId), creds },
    `${creds}\nDevice ${deviceId} at ${placeId}: publishes on ${countsSubject(placeId, deviceId)} with these credentials.`,
  );
}

async function importFile(c: Called): Promise<void> {
  const [file, ...extra] = c.positionals;
  if (!file || extra.length) throw new UsageError(`Name one file.\n\n${HELP.import}`);
  const { devices, places } = readImport(file);
  const reg = await registry();
  try {
    await reg.places(places);
    await reg.add(devices);
  } finally {
    await reg.close();
  }
  const creds = c.values["no-creds"] ? [] : issueCreds(c.dir, devices);
  c.print(
    { devices: devices.length, places: places.length, creds: creds.length, dir: c.dir },
    `Registered ${devices.length} devices${places.length ? ` and ${places.length} places` : ""}${creds.length ? `; their credentials are in ${c.dir}/device-<deviceId>.creds` : ""}.`,
  );
}

async function manage(c: Called): Promise<void> {
  const { sub, values, positionals, print } = c;
  const config = loadConfig();
  const reg = await registry();
  try {
    if (sub === "list") {
      const devices = (await reg.list()).filter((d) => !values.place || d.placeId === values.place);
      const rows = devices.map((d) => [d.deviceId, d.placeId, d.kind ?? "counter", countsSubject(d.placeId, d.deviceId)]);
      return print(
        { devices },
        devices.length ? table(["DEVICE", "PLACE", "KIND", "SUBJECT"], rows) : "No devices yet: add one with `npx linkage-hub devices add`.",
      );
    }
    if (sub === "remove") {
      if (!positionals.length || positionals.some((p) => !ID.test(p))) throw new UsageError(`Name the devices to remove.\n\n${HELP.remove}`);
      const removed = await reg.remove(positionals);
      const revoked = NatsAuth.exists(c.dir) ? NatsAuth.open(c.dir, config.namespace).removeUsers(positionals.map(deviceUser)) : [];
      const note = revoked.length ? ` ${applied(config.dataDir, c.dir)}` : "";
      return print({ devices: removed, revoked }, `Removed ${removed.length} of ${positionals.length} devices; revoked ${revoked.length} NATS users.${note}`);
    }
    if (sub === "place") {
      const placeId = one(c, "place id", PLACE);
      const capacity = Number(values.capacity);
      if (!Number.isInteger(capacity) || capacity < 1) throw new UsageError(`--capacity is a whole number of people, at least 1.\n\n${HELP.place}`);
      const place = { placeId, capacity, ...(values.name ? { name: String(values.name) } : {}) };
      await reg.places([place]);
      return print(place, `Key place ${placeId} is watched, capacity ${capacity}.`);
    }
    const placeId = one(c, "place id", PLACE);
    const params = { placeId, warningAt: fraction(values.warning, "warning") ?? null, criticalAt: fraction(values.critical, "critical") ?? null };
    const result = await reg.thresholds(params);
    print(result ?? params, `Key place ${placeId}: warning from ${params.warningAt ?? 0.8}, critical from ${params.criticalAt ?? 1.0}.`);
  } finally {
    await reg.close();
  }
}
