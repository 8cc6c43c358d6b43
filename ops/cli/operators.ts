/**
 * `linkage-hub operators ...`: who may read workflow payloads in clear through the codec server
 * (the Temporal UI and CLI; docs/operators.md). Talks to the running hub's `operators` service
 * over NATS (whatever database it uses); with no hub answering and DATABASE_URL set, to
 * PostgreSQL directly.
 */
import { loadConfig } from "../../platform/config";
import { openDb } from "../../platform/db";
import { migrateHub } from "../../hub/schema";
import { addOperator, listOperators, removeOperator, type Operator, type OperatorCredentials } from "../../operators/registry";
import { hubBroker, noHub } from "./hub";
import { printer, subcommand, table, UsageError, type Options } from "./usage";

const HELP: Record<string, string> = {
  "": `Usage: npx linkage-hub operators <add|list|remove> [options]

  add      make an operator and print their secret (shown once)
  list     every operator
  remove   remove an operator: their next request to the codec server is refused

Operators open the hub's codec server (POST /codec/decode, /codec/encode on HUB_PORT) with
HTTP Basic: the Temporal UI and \`temporal --codec-endpoint ... --codec-auth ...\` then show
workflow payloads in clear (docs/operators.md). Every subcommand takes --help and --json.
The CLI reaches the running hub over NATS (NATS_URL, HUB_NAMESPACE); with no hub running and
DATABASE_URL set, PostgreSQL directly.`,
  add: `Usage: npx linkage-hub operators add <name> [--json]

<name>: 1 to 64 of a-z 0-9 . _ - (a person, not a team: the audit log names them). Prints the
secret once, and the --codec-auth value for the temporal CLI. A name in use is refused: remove it
first to give a new secret.`,
  list: `Usage: npx linkage-hub operators list [--json]`,
  remove: `Usage: npx linkage-hub operators remove <name> [--json]`,
};

const OPTIONS: Record<string, Options> = { add: {}, list: {}, remove: {} };

interface Operators {
  add(name: string): Promise<OperatorCredentials>;
  list(): Promise<Operator[]>;
  remove(name: string): Promise<Operator>;
  close(): Promise<void>;
}

async function operators(): Promise<Operators> {
  const broker = await hubBroker("operators");
  if (broker)
    return {
      add: (name) => broker.call("operators.add", { name }),
      list: async () => (await broker.call<{ operators: Operator[] }>("operators.list")).operators,
      remove: (name) => broker.call("operators.remove", { name }),
      close: () => broker.stop(),
    };
  const { databaseUrl } = loadConfig();
  if (!databaseUrl) throw new Error(`${noHub().message} Or set DATABASE_URL to manage operators in PostgreSQL directly.`);
  const db = await openDb({ url: databaseUrl, pgliteDir: "" });
  await migrateHub(db);
  return { add: (name) => addOperator(db, name), list: () => listOperators(db), remove: (name) => removeOperator(db, name), close: () => db.close() };
}

function credentials(c: OperatorCredentials): string {
  const { host, port, temporalAddress } = loadConfig();
  return [
    `Added operator ${c.name}.`,
    `secret:        ${c.secret}   (shown once; keep it safe)`,
    `--codec-auth:  '${c.authorization}'`,
    "",
    "Read a linkage's history in clear:",
    `  temporal workflow show -w <linkage id> --address ${temporalAddress} --codec-endpoint http://${host}:${port}/codec --codec-auth '${c.authorization}'`,
    `In the Temporal UI: open http://${host}:${port}/codec/ in the same browser once and sign in as ${c.name}.`,
  ].join("\n");
}

export async function operatorsCommand(args: string[]): Promise<void> {
  const called = subcommand(args, HELP, OPTIONS);
  if (!called) return;
  const { sub, values, positionals } = called;
  if (sub !== "list" && positionals.length !== 1) throw new UsageError(`Name one operator.\n\n${HELP[sub]}`);
  const name = positionals[0]!;
  const out = printer(Boolean(values.json));
  const ops = await operators();
  try {
    if (sub === "add") {
      const made = await ops.add(name);
      out(made, credentials(made));
    } else if (sub === "list") {
      const all = await ops.list();
      out(
        all,
        all.length
          ? table(
              ["NAME", "CREATED"],
              all.map((o) => [o.name, o.createdAt]),
            )
          : "No operators yet: add one with `npx linkage-hub operators add <name>`.",
      );
    } else {
      const removed = await ops.remove(name);
      out(removed, `Operator ${removed.name} is removed: the codec server refuses them from now on.`);
    }
  } finally {
    await ops.close();
  }
}
