/**
 * `linkage-hub keys ...`: the hub's own keys, read where the hub reads them (a file or an
 * environment variable, never a database). Today the workflow payload keys.
 */
import fs from "node:fs";
import { loadConfig } from "../../platform/config";
import { listPayloadKeys, payloadKeysFile, rotatePayloadKey } from "../../platform/payload-keys";
import { printer, subcommand, table, UsageError } from "./usage";

const HELP: Record<string, string> = {
  "": `Usage: npx linkage-hub keys <list|rotate> payload [--json]

  list payload     the workflow payload keys: their ids and which one is current (never the keys)
  rotate payload   a new current key; the old ones stay, to decrypt what they encrypted

Workflow payloads (inputs, results, signals, memos, failures) are encrypted with AES-256-GCM
before they reach Temporal. The keys come from HUB_PAYLOAD_KEYS, or else the file
HUB_PAYLOAD_KEYS_FILE (default payload-keys.json in HUB_DATA_DIR): see docs/payload-encryption.md.`,
  list: `Usage: npx linkage-hub keys list payload [--json]

Lists the payload keys' ids, the current one marked, and where they come from.`,
  rotate: `Usage: npx linkage-hub keys rotate payload [--json]

Adds a new key to the payload key file and makes it current. Nodes reading that file use it
within a second, without a restart; linkages running keep decrypting what older keys wrote.
Nodes on other machines need the new file (every key in it): copy it before their next
payload, or they fail that payload naming the key id they lack.
Keys given in HUB_PAYLOAD_KEYS are not rotated here: edit that JSON instead.`,
};

const OPTIONS = { list: {}, rotate: {} };

/** The one kind of key these commands know, named as the commands' argument. */
function kindOf(sub: string, positionals: string[]): void {
  if (positionals.length !== 1 || positionals[0] !== "payload")
    throw new UsageError(`Name the keys: \`keys ${sub} payload\`${positionals.length ? `, not "${positionals.join(" ")}"` : ""}.\n\n${HELP[sub]}`);
}

const FROM_ENV = `The payload keys come from HUB_PAYLOAD_KEYS, which this command cannot change. Rotate there:
add a new key (32 random bytes in base64: \`openssl rand -base64 32\`) under a new id to its
"keys", keeping every old key, make that id "current", and restart the nodes (every node the
same JSON). Or move the keys to a file (HUB_PAYLOAD_KEYS_FILE) and rotate with this command.`;

export async function keysCommand(args: string[]): Promise<void> {
  const called = subcommand(args, HELP, OPTIONS);
  if (!called) return;
  const { sub, values, positionals } = called;
  kindOf(sub, positionals);
  const config = loadConfig();
  const print = printer(values.json === true);
  const file = payloadKeysFile(config);
  if (!config.payloadKeys && !fs.existsSync(file))
    throw new Error(`No payload key file at ${file}: the hub makes it when it first starts (set HUB_PAYLOAD_KEYS_FILE or HUB_DATA_DIR as the hub has them)`);
  if (sub === "list") {
    const { source, current, ids } = listPayloadKeys(config);
    const rows = ids.map((id) => [id, id === current ? "yes" : ""]);
    return print({ source, current, ids }, `Payload keys from ${source}:\n${table(["KEY ID", "CURRENT"], rows)}`);
  }
  if (config.payloadKeys) throw new Error(FROM_ENV);
  const rotated = rotatePayloadKey(file);
  print(
    { source: file, ...rotated },
    `New payload key ${rotated.current} is current (was ${rotated.previous}); ${rotated.ids.length} keys in ${file}.\n` +
      `Nodes reading this file use it within a second. Copy the file to nodes on other machines.`,
  );
}
