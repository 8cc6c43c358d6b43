/** `linkage-hub <command>`: dispatches to the command's module. */
import { ConfigError } from "../../platform/config";
import { eventsCommand } from "./events";
import { partnersCommand } from "./partners";
import { operatorsCommand } from "./operators";
import { webhooksCommand } from "./webhooks";
import { auditCommand } from "./audit";
import { servicesCommand } from "./services";
import { accessCommand } from "./access";
import { natsCommand } from "./nats";
import { devicesCommand } from "./devices";
import { keysCommand } from "./keys";
import { UsageError } from "./usage";

const HELP = `Usage: npx linkage-hub <command> [options]

Commands:
  events     streams and consumer groups with their lag, dead letters, replays
  partners   the partners that call the hub: add, list, show, rotate-secret, disable
  webhooks   partners' webhook deliveries: list, redeliver
  operators  who may read workflow payloads in clear (the codec server of the Temporal UI and
             CLI): add, list, remove
  audit      the audit log: verify, export one case's evidence, access report
  services   the service catalogue: add a provider's REST service from its OpenAPI document,
             update, list, show, disable, enable, remove
  access     who may call catalogue services: grant, revoke, list
  nats       the users of the hub's NATS and their roles: add-user, list-users, remove-user
  devices    counting devices at key places and their NATS credentials: add, import, list,
             remove; key places by hand and their crowd thresholds
  keys       the hub's workflow payload keys: list, rotate (keys rotate payload)

Run \`npx linkage-hub <command> --help\` for a command's options. Settings come from the
environment (NATS_URL, ...), as for the hub itself: see docs/configuration.md.`;

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  events: eventsCommand,
  partners: partnersCommand,
  operators: operatorsCommand,
  webhooks: webhooksCommand,
  audit: auditCommand,
  services: servicesCommand,
  access: accessCommand,
  nats: natsCommand,
  devices: devicesCommand,
  keys: keysCommand,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") {
    console.log(HELP);
    return command ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) {
    console.error(`Unknown command "${command}".\n\n${HELP}`);
    return 2;
  }
  try {
    await run(rest);
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) console.error(err.message);
      return 2;
    }
    console.error(err instanceof ConfigError ? err.message : `linkage-hub ${command}: ${(err as Error).message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
