/**
 * The keys of workflow payloads (AES-256-GCM), kept outside every database: from
 * `HUB_PAYLOAD_KEYS` (the JSON itself) or the file `HUB_PAYLOAD_KEYS_FILE`, created on first use.
 * New payloads use the current key; every key in the ring still decrypts, so a rotation never
 * strands a linkage that is running.
 */
import fs from "node:fs";
import path from "node:path";
import { createSecretKey, randomBytes, type KeyObject } from "node:crypto";
import type { Config } from "./config";
import { createOnce, replace } from "./key-file";

export interface PayloadKeyRing {
  current: string;
  keys: ReadonlyMap<string, KeyObject>;
}

/** Where the keys come from: the settings of the configuration that name them. */
export type PayloadKeyConfig = Partial<Pick<Config, "payloadKeys" | "payloadKeysFile">> & Pick<Config, "dataDir">;

/** The ring as this node holds it; `refresh` reads it again now. */
export interface PayloadKeySource {
  ring(): PayloadKeyRing;
  refresh(): PayloadKeyRing;
}

/** As kept: key ids to base64 of 32 random bytes. */
interface Stored {
  current: string;
  keys: Record<string, string>;
}

/** Key ids travel in clear in every payload's metadata: short, and nothing but a name. */
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;

export const payloadKeysFile = (config: Omit<PayloadKeyConfig, "payloadKeys">) =>
  path.resolve(config.payloadKeysFile ?? path.join(config.dataDir, "payload-keys.json"));

const newKeyId = () => `k${randomBytes(4).toString("hex")}`;
const newStored = (): Stored => {
  const id = newKeyId();
  return { current: id, keys: { [id]: randomBytes(32).toString("base64") } };
};

function parseStored(text: string, source: string): Stored {
  const shape = `{"current": "<key id>", "keys": {"<key id>": "<base64 of 32 bytes>"}}`;
  let stored: Stored;
  try {
    stored = JSON.parse(text) as Stored;
  } catch {
    throw new Error(`${source}: not JSON (${shape})`);
  }
  if (!stored || typeof stored !== "object" || !stored.keys || typeof stored.keys !== "object") throw new Error(`${source}: not a key ring (${shape})`);
  for (const [id, b64] of Object.entries(stored.keys)) {
    if (!KEY_ID.test(id)) throw new Error(`${source}: key id ${JSON.stringify(id)} is not 1 to 64 of letters, digits, _ and -`);
    if (typeof b64 !== "string" || Buffer.from(b64, "base64").length !== 32) throw new Error(`${source}: key ${id} is not 32 bytes of base64`);
  }
  if (!(stored.current in stored.keys)) throw new Error(`${source}: the current key ${JSON.stringify(stored.current)} is not among its keys`);
  return stored;
}

function parse(text: string, source: string): PayloadKeyRing {
  const stored = parseStored(text, source);
  const keys = new Map(Object.entries(stored.keys).map(([id, b64]) => [id, createSecretKey(Buffer.from(b64, "base64"))] as const));
  return { current: stored.current, keys };
}

/** What tells a replaced file from the one read: a rotation renames a new file into place. */
const stamp = (file: string) => {
  const s = fs.statSync(file);
  return `${s.ino}:${s.mtimeMs}:${s.size}`;
};

const sources = new Map<string, PayloadKeySource>();

/** One source per process and key setting, shared by its Temporal clients, worker and stores. */
export function payloadKeys(config: PayloadKeyConfig): PayloadKeySource {
  const name = config.payloadKeys ? `inline:${config.payloadKeys}` : `file:${payloadKeysFile(config)}`;
  if (!sources.has(name)) sources.set(name, keySource(config));
  return sources.get(name)!;
}

/**
 * The ring, read again when its file changes (checked at most once a second), so a rotation
 * reaches running nodes without a restart. `refresh` reads it now: a payload under a key id
 * this node has not seen yet may come from a node that saw the rotation first.
 */
function keySource(config: PayloadKeyConfig): PayloadKeySource {
  if (config.payloadKeys) {
    const ring = parse(config.payloadKeys, "HUB_PAYLOAD_KEYS");
    return { ring: () => ring, refresh: () => ring };
  }
  const file = payloadKeysFile(config);
  let ring = parse(fs.existsSync(file) ? fs.readFileSync(file, "utf8") : createOnce(file, JSON.stringify(newStored(), null, 2)), file);
  let seen = stamp(file);
  let checked = Date.now();
  const refresh = () => {
    checked = Date.now();
    const now = stamp(file);
    if (now !== seen) [ring, seen] = [parse(fs.readFileSync(file, "utf8"), file), now];
    return ring;
  };
  return { ring: () => (Date.now() - checked >= 1000 ? refresh() : ring), refresh };
}

/** Where the keys come from, their ids and which is current: never the keys themselves. */
export function listPayloadKeys(config: PayloadKeyConfig): { source: string; current: string; ids: string[] } {
  const source = config.payloadKeys ? "HUB_PAYLOAD_KEYS" : payloadKeysFile(config);
  const { current, keys } = payloadKeys(config).ring();
  return { source, current, ids: [...keys.keys()] };
}

/**
 * Adds a new key to the file and makes it current; the old keys stay to decrypt what they wrote.
 * Two rotations at once do not lose a key: the second waits for the first (a lock file beside it).
 */
export function rotatePayloadKey(file: string): { previous: string; current: string; ids: string[] } {
  if (!fs.existsSync(file)) throw new Error(`No payload key file at ${file}: start the hub once (it creates it), or set HUB_PAYLOAD_KEYS_FILE`);
  const lock = `${file}.lock`;
  let fd: number | undefined;
  for (const deadline = Date.now() + 5000; fd === undefined;) {
    try {
      fd = fs.openSync(lock, "wx", 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (Date.now() > deadline) throw new Error(`${lock} is held by another rotation (remove it if none runs)`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
  try {
    const stored = parseStored(fs.readFileSync(file, "utf8"), file);
    const id = newKeyId();
    const keys = { ...stored.keys, [id]: randomBytes(32).toString("base64") };
    replace(file, JSON.stringify({ current: id, keys }, null, 2));
    sources.get(`file:${path.resolve(file)}`)?.refresh(); // this process seals under the new key at once
    return { previous: stored.current, current: id, ids: Object.keys(keys) };
  } finally {
    fs.closeSync(fd);
    fs.unlinkSync(lock);
  }
}
