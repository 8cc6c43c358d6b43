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

/** As kept: key ids to base64 of 32 random bytes. */
interface Stored {
  current: string;
  keys: Record<string, string>;
}

export const payloadKeysFile = (config: Pick<Config, "payloadKeysFile" | "dataDir">) =>
  config.payloadKeysFile ?? path.join(config.dataDir, "payload-keys.json");

const newKeyId = () => `k${randomBytes(4).toString("hex")}`;
const newStored = (): Stored => {
  const id = newKeyId();
  return { current: id, keys: { [id]: randomBytes(32).toString("base64") } };
};

function parse(text: string, source: string): PayloadKeyRing {
  let stored: Stored;
  try {
    stored = JSON.parse(text) as Stored;
  } catch {
    throw new Error(`${source}: not JSON ({"current": "<key id>", "keys": {"<key id>": "<base64 of 32 bytes>"}})`);
  }
  const keys = new Map<string, KeyObject>();
  for (const [id, b64] of Object.entries(stored.keys ?? {})) {
    const bytes = Buffer.from(b64, "base64");
    if (bytes.length !== 32) throw new Error(`${source}: key ${id} is not 32 bytes of base64`);
    keys.set(id, createSecretKey(bytes));
  }
  if (!keys.has(stored.current)) throw new Error(`${source}: the current key ${JSON.stringify(stored.current)} is not among its keys`);
  return { current: stored.current, keys };
}

/**
 * The ring, read again when its file changes (checked at most once a second), so a rotation
 * reaches running nodes without a restart. `refresh` reads it now: a payload under a key id
 * this node has not seen yet may come from a node that saw the rotation first.
 */
export interface PayloadKeySource {
  ring(): PayloadKeyRing;
  refresh(): PayloadKeyRing;
}

export type PayloadKeyConfig = Pick<Config, "payloadKeys" | "payloadKeysFile" | "dataDir">;
const sources = new Map<string, PayloadKeySource>();

/** One source per process and key setting, shared by its Temporal clients, worker and stores. */
export function payloadKeys(config: PayloadKeyConfig): PayloadKeySource {
  const name = config.payloadKeys ?? payloadKeysFile(config);
  if (!sources.has(name)) sources.set(name, keySource(config));
  return sources.get(name)!;
}

function keySource(config: PayloadKeyConfig): PayloadKeySource {
  if (config.payloadKeys) {
    const ring = parse(config.payloadKeys, "HUB_PAYLOAD_KEYS");
    return { ring: () => ring, refresh: () => ring };
  }
  const file = payloadKeysFile(config);
  let ring = parse(fs.existsSync(file) ? fs.readFileSync(file, "utf8") : createOnce(file, JSON.stringify(newStored(), null, 2)), file);
  let seen = fs.statSync(file).mtimeMs;
  let checked = Date.now();
  const refresh = () => {
    checked = Date.now();
    const mtime = fs.statSync(file).mtimeMs;
    if (mtime !== seen) [ring, seen] = [parse(fs.readFileSync(file, "utf8"), file), mtime];
    return ring;
  };
  return { ring: () => (Date.now() - checked >= 1000 ? refresh() : ring), refresh };
}

/** Adds a new key to the file and makes it current; the old keys stay to decrypt what they wrote. */
export function rotatePayloadKey(file: string): { previous: string; current: string } {
  if (!fs.existsSync(file)) throw new Error(`No payload key file at ${file}: start the hub once, or set HUB_PAYLOAD_KEYS_FILE`);
  const stored = JSON.parse(fs.readFileSync(file, "utf8")) as Stored;
  parse(JSON.stringify(stored), file);
  const id = newKeyId();
  replace(file, JSON.stringify({ current: id, keys: { ...stored.keys, [id]: randomBytes(32).toString("base64") } }, null, 2));
  return { previous: stored.current, current: id };
}
