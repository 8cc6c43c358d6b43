/** `linkage-hub nats ...`: the users of the hub's NATS and what each may do (docs/nats-auth.md). */
import { loadConfig } from "../../platform/config";
import { natsAuthDir } from "../../platform/nats-auth";
import { NATS_ROLES, NatsAuth, rolePermissions, type NatsRole } from "../stack/nats-auth";
import { reloadNats } from "../stack/nats-server";
import { printer, subcommand, table, UsageError, type Options } from "./usage";

const ROLES_HELP = `Roles:
  node       a hub node: everything
  operator   the CLI and operators: the hub's Moleculer subjects, the JetStream API and the
             event subjects, the NATS service hub.v1.>
  caller     an internal service: publishes on hub.v1.> and $SRV.> (discovery) only,
             receives its replies on its own inbox prefix _INBOX_<name> (set it in the client:
             inboxPrefix / inbox_prefix / --inbox-prefix)
  consumer   reads the EVENTS stream through its own durable consumer named <name> (create,
             info, next, ack), publishes its dead letters on dead.<name>.> and nothing
             else; replies on _INBOX_<name>
  device     publishes on the subjects given with --subjects only (e.g. counts.<place>.<device>)`;

const HELP: Record<string, string> = {
  "": `Usage: npx linkage-hub nats <add-user|list-users|remove-user> [options]

  add-user      make a user of a role and write its credentials (.creds: JWT and seed, 0600)
  list-users    the users, their roles and what they may publish and subscribe to
  remove-user   revoke a user: the server refuses its credentials from then on

The material is in --dir (default $HUB_DATA_DIR/nats-auth, where \`npm start\` keeps the NATS
it starts). A change reaches that server by a configuration reload, without a restart.
Every subcommand takes --help and --json.

${ROLES_HELP}`,
  "add-user": `Usage: npx linkage-hub nats add-user <name> --role <role> [--subjects <s,s,...>] [--dir <dir>]

Makes user <name> (letters, digits, _ and -) with the role's permissions and writes
<dir>/<name>.creds (0600), printing its path. Making an existing user again gives it new
credentials and revokes the old ones. --subjects (devices only): the subjects it may
publish on, comma-separated (wildcards * and > allowed).

${ROLES_HELP}`,
  "list-users": `Usage: npx linkage-hub nats list-users [--dir <dir>] [--json]`,
  "remove-user": `Usage: npx linkage-hub nats remove-user <name> [--dir <dir>]

Revokes the user's key in the hub's account and deletes its .creds; connections with those
credentials are closed once the server has reloaded.`,
};

const DIR: Options = { dir: { type: "string" } };
const OPTIONS: Record<string, Options> = {
  "add-user": { ...DIR, role: { type: "string" }, subjects: { type: "string" } },
  "list-users": DIR,
  "remove-user": DIR,
};

/** Applies a change to the local server the stack started; says so either way. */
export function applied(dataDir: string, dir: string): string {
  if (dir !== natsAuthDir(dataDir)) return `The NATS server using ${dir} must reload its configuration (nats-server --signal reload).`;
  return reloadNats(dataDir) ? "The NATS server has reloaded its accounts." : "No NATS server of this stack is running; it reads the change when it starts.";
}

export async function natsCommand(args: string[]): Promise<void> {
  const called = subcommand(args, HELP, OPTIONS);
  if (!called) return;
  const { sub, values, positionals } = called;
  const config = loadConfig();
  const dir = values.dir ? String(values.dir) : natsAuthDir(config.dataDir);
  const auth = NatsAuth.open(dir, config.namespace);
  const print = printer(Boolean(values.json));
  if (sub === "list-users") {
    const users = Object.entries(auth.users()).map(([name, u]) => ({ name, ...u, ...rolePermissions(u.role, name, config.namespace, u.subjects) }));
    const list = (l?: string[]) => (l ? l.join(" ") : "everything");
    return print(
      users,
      table(
        ["NAME", "ROLE", "PUBLISH", "SUBSCRIBE"],
        users.map((u) => [u.name, u.role, list(u.pub), list(u.sub)]),
      ),
    );
  }
  const [name, ...extra] = positionals;
  if (!name || extra.length) throw new UsageError(`Name one user.\n\n${HELP[sub]}`);
  if (sub === "remove-user") {
    auth.removeUser(name);
    return print({ removed: name }, `Removed ${name}. ${applied(config.dataDir, dir)}`);
  }
  const role = values.role as NatsRole | undefined;
  if (!role || !NATS_ROLES.includes(role)) throw new UsageError(`--role must be one of ${NATS_ROLES.join(", ")}.\n\n${HELP[sub]}`);
  const subjects = values.subjects
    ? String(values.subjects)
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
  let file: string;
  try {
    file = auth.addUser(name, role, subjects);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${HELP[sub]}`);
  }
  // A new user needs nothing from the server (its JWT is signed by the hub's account); a remade one revokes the old key.
  const note = applied(config.dataDir, dir);
  if (values.json) return print({ name, role, creds: file }, "");
  console.log(file);
  console.error(note);
}
