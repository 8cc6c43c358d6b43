/** `linkage-hub events ...`: operate the event bus on NATS JetStream. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { loadConfig } from "../../platform/config";
import { connectBus, type EventBus } from "../../platform/events/bus";
import { deadLetters, replayDeadLetters, replayRange, streamReport } from "../../platform/events/admin";
import { UsageError } from "./usage";

const HELP: Record<string, string> = {
  "": `Usage: npx linkage-hub events <streams|dead-letters|replay> [options]

  streams        streams with their size, and each consumer group's lag
  dead-letters   events a group gave up on, with the reason
  replay         send dead letters, or the events of a time range, back to one group

Every subcommand takes --help. NATS_URL names the server (default nats://127.0.0.1:4222).`,
  streams: `Usage: npx linkage-hub events streams [--json]

Lists every JetStream stream (messages, bytes, first and last event) and its consumer
groups: pending (not yet delivered: the lag), awaiting ack, redelivered.`,
  "dead-letters": `Usage: npx linkage-hub events dead-letters [--group <name>] [--json]

Lists dead letters (of one consumer group, or all): sequence, group, event type and id,
deliveries, time and the reason. Replay them with \`events replay --dead-letters\`.`,
  replay: `Usage:
  npx linkage-hub events replay --group <name> --dead-letters [--seq <n,n,...>]
  npx linkage-hub events replay --group <name> --since <time> [--until <time>] [--type <type,...>]

Sends events back to one consumer group (and to no other): its dead letters (all, or the
listed sequence numbers; replayed ones leave DEAD_LETTERS), or every event published in a
time range (ISO 8601 times, e.g. 2026-11-28T09:00:00Z). The group acts on an event only
once: events it has already handled are acknowledged without acting again.`,
};

function parse(sub: string, args: string[], options: NonNullable<ParseArgsConfig["options"]>) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals: false }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${HELP[sub]}`);
  }
}

function time(value: string | boolean | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(String(value));
  if (Number.isNaN(date.getTime())) throw new UsageError(`--${name} must be an ISO 8601 time, not "${value}"`);
  return date;
}

async function withBus<T>(work: (bus: EventBus) => Promise<T>): Promise<T> {
  const { natsUrl } = loadConfig();
  const bus = await connectBus(natsUrl, "linkage-hub-cli").catch((err: Error) => {
    throw new Error(`cannot reach NATS at ${natsUrl} (${err.message}); is the hub's stack running? Set NATS_URL to point elsewhere.`);
  });
  try {
    return await work(bus);
  } finally {
    await bus.close();
  }
}

export async function eventsCommand(args: string[]): Promise<void> {
  const [sub = "", ...rest] = args;
  if (sub === "" || sub === "--help" || sub === "-h") {
    console.log(HELP[""]);
    if (sub === "") throw new UsageError("Name a subcommand.");
    return;
  }
  if (!HELP[sub]) throw new UsageError(`Unknown subcommand "${sub}".\n\n${HELP[""]}`);
  if (rest.includes("--help") || rest.includes("-h")) return void console.log(HELP[sub]);

  if (sub === "streams") {
    const o = parse(sub, rest, { json: { type: "boolean" } });
    const report = await withBus(streamReport);
    if (o.json) return void console.log(JSON.stringify(report, null, 2));
    for (const s of report) {
      console.log(`${s.name}  ${s.messages} messages, ${s.bytes} bytes  [${s.subjects.join(", ")}]${s.lastTime ? `  last ${s.lastTime}` : ""}`);
      if (!s.consumers.length) console.log("  (no consumer groups)");
      for (const c of s.consumers)
        console.log(`  ${c.group.padEnd(30)} lag ${String(c.pending).padStart(7)}  awaiting ack ${c.ackPending}  redelivered ${c.redelivered}`);
    }
    return;
  }

  if (sub === "dead-letters") {
    const o = parse(sub, rest, { group: { type: "string" }, json: { type: "boolean" } });
    const letters = await withBus((bus) => deadLetters(bus, o.group as string | undefined));
    if (o.json) return void console.log(JSON.stringify(letters, null, 2));
    if (!letters.length) return void console.log(o.group ? `No dead letters for group ${o.group}.` : "No dead letters.");
    for (const d of letters) {
      const e = typeof d.event === "object" ? `${d.event.type} ${d.event.id}` : "(not an event)";
      console.log(`#${d.seq}  ${d.time}  ${d.group}  ${e}  after ${d.deliveries} deliveries\n     ${d.reason}`);
    }
    return;
  }

  const o = parse(sub, rest, {
    group: { type: "string" },
    "dead-letters": { type: "boolean" },
    seq: { type: "string" },
    since: { type: "string" },
    until: { type: "string" },
    type: { type: "string" },
  });
  const group = o.group as string | undefined;
  if (!group) throw new UsageError(`--group is required.\n\n${HELP.replay}`);
  if (!o["dead-letters"] === !o.since) throw new UsageError(`Give either --dead-letters or --since.\n\n${HELP.replay}`);
  if (o["dead-letters"]) {
    const seqs = o.seq === undefined ? undefined : String(o.seq).split(",").map(Number);
    if (seqs?.some((n) => !Number.isInteger(n) || n <= 0)) throw new UsageError("--seq takes sequence numbers, e.g. --seq 12,15");
    const n = await withBus((bus) => replayDeadLetters(bus, group, seqs));
    console.log(`Replayed ${n} dead letter(s) to ${group}.`);
  } else {
    const since = time(o.since, "since")!;
    const until = time(o.until, "until");
    const types = o.type === undefined ? undefined : String(o.type).split(",");
    const n = await withBus((bus) => replayRange(bus, group, since, until, types));
    console.log(`Replayed ${n} event(s) from ${since.toISOString()} to ${group}.`);
  }
}
