/** `linkage-hub webhooks ...`: partners' webhook deliveries, through the running hub. */
import { parseArgs } from "node:util";
import type { components } from "../../contracts/generated/types";
import { hubBroker, noHub } from "./hub";
import { table, UsageError } from "./usage";

type Delivery = components["schemas"]["WebhookDelivery"];

const HELP = `Usage:
  npx linkage-hub webhooks list [--partner <id>] [--limit <n>] [--json]
  npx linkage-hub webhooks redeliver <event id> [--json]

list       deliveries, newest first: event, partner, attempts, last answer, when acknowledged
redeliver  sends one event to its partner's webhook again (delivered or given up on)

Deliveries are retried with backoff (HUB_WEBHOOK_BACKOFF_MS) until the webhook answers
2xx, then go to the dead-letter stream: see also \`npx linkage-hub events dead-letters --group webhooks\`.`;

function deliveriesTable(list: Delivery[]): string {
  if (!list.length) return "No webhook deliveries.";
  const rows = list.map((d) => [
    d.eventId,
    d.partnerId,
    String(d.attempts),
    d.lastStatus === null ? (d.lastError ?? "-") : String(d.lastStatus),
    d.deliveredAt ?? "not yet",
  ]);
  return table(["EVENT", "PARTNER", "ATTEMPTS", "LAST", "DELIVERED"], rows);
}

export async function webhooksCommand(args: string[]): Promise<void> {
  const [sub = "", ...rest] = args;
  if (sub === "--help" || sub === "-h") return console.log(HELP);
  if (sub !== "list" && sub !== "redeliver") throw new UsageError(sub ? `Unknown subcommand "${sub}".\n\n${HELP}` : HELP);
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { partner: { type: "string" }, limit: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${HELP}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return console.log(HELP);
  if (sub === "redeliver" && positionals.length !== 1) throw new UsageError(`Name one event id.\n\n${HELP}`);
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0 && limit <= 1000)) throw new UsageError(`--limit is 1 to 1000, not "${values.limit}"`);

  const broker = await hubBroker("partners");
  if (!broker) throw noHub();
  try {
    const params = sub === "list" ? { ...(values.partner ? { partnerId: values.partner } : {}), ...(limit ? { limit } : {}) } : { eventId: positionals[0] };
    const { deliveries } = await broker.call<{ deliveries: Delivery[] }, object>(sub === "list" ? "partners.deliveries" : "partners.redeliver", params);
    if (values.json) console.log(JSON.stringify(deliveries, null, 2));
    else console.log(sub === "list" ? deliveriesTable(deliveries) : `Sent ${positionals[0]} again.\n${deliveriesTable(deliveries)}`);
  } finally {
    await broker.stop();
  }
}
