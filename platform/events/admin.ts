/**
 * Operating the bus: streams and consumer groups with their lag, dead letters, and replays
 * (of dead letters, or of a time range) to one consumer group. Used by `linkage-hub events`.
 * A replay publishes the original envelope on `replay.<group>.<type>`, which only that group
 * consumes; the group's record of handled ids still applies, so nothing is acted on twice.
 */
import { DeliverPolicy, type JsMsg } from "nats";
import { PUBLISH_IN_FLIGHT, type EventBus } from "./bus";
import { DEAD, replaySubject } from "./consumer";
import type { CloudEvent } from "./envelope";
import { DEAD_LETTER_STREAM, EVENTS_STREAM } from "./streams";

export interface StreamReport {
  name: string;
  subjects: string[];
  messages: number;
  bytes: number;
  firstTime?: string;
  lastTime?: string;
  consumers: { group: string; pending: number; ackPending: number; redelivered: number; delivered: number }[];
}

export async function streamReport(bus: EventBus): Promise<StreamReport[]> {
  const out: StreamReport[] = [];
  for await (const s of bus.jsm.streams.list()) {
    const consumers: StreamReport["consumers"] = [];
    for await (const c of bus.jsm.consumers.list(s.config.name))
      consumers.push({
        group: c.name,
        pending: c.num_pending,
        ackPending: c.num_ack_pending,
        redelivered: c.num_redelivered,
        delivered: c.delivered.stream_seq,
      });
    out.push({
      name: s.config.name,
      subjects: s.config.subjects ?? [],
      messages: s.state.messages,
      bytes: s.state.bytes,
      firstTime: s.state.messages ? s.state.first_ts : undefined,
      lastTime: s.state.messages ? s.state.last_ts : undefined,
      consumers,
    });
  }
  return out;
}

export interface DeadLetter {
  seq: number;
  group: string;
  reason: string;
  originalSubject: string;
  deliveries: number;
  time: string;
  event: CloudEvent | string;
}

/** Reads a stream's messages on a subject filter, oldest first, without a durable consumer. */
export async function readStream(bus: EventBus, stream: string, filter: string, from: { startTime?: Date } = {}, until?: Date): Promise<JsMsg[]> {
  const info = await bus.jsm.streams.info(stream);
  if (info.state.messages === 0) return [];
  const consumer = await bus.js.consumers.get(stream, {
    filterSubjects: [filter],
    ...(from.startTime ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: from.startTime.toISOString() } : {}),
  });
  const msgs: JsMsg[] = [];
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 500, expires: 1000 });
    let n = 0;
    for await (const m of batch) {
      n++;
      if (until && m.info.timestampNanos / 1e6 > until.getTime()) return msgs;
      msgs.push(m);
      if (m.info.pending === 0) return msgs;
    }
    if (n === 0) return msgs;
  }
}

function decode(m: JsMsg): CloudEvent | string {
  const text = new TextDecoder().decode(m.data);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function deadLetters(bus: EventBus, group?: string): Promise<DeadLetter[]> {
  const msgs = await readStream(bus, DEAD_LETTER_STREAM, group ? `dead.${group}.>` : "dead.>");
  return msgs.map((m) => ({
    seq: m.seq,
    group: m.headers?.get(DEAD.group) ?? "",
    reason: m.headers?.get(DEAD.reason) ?? "",
    originalSubject: m.headers?.get(DEAD.subject) ?? "",
    deliveries: Number(m.headers?.get(DEAD.deliveries) ?? 0),
    time: new Date(m.info.timestampNanos / 1e6).toISOString(),
    event: decode(m),
  }));
}

/**
 * Sends a group's dead letters (all, or those with the given sequence numbers) back to it,
 * then removes them from DEAD_LETTERS. Returns how many were replayed.
 */
export async function replayDeadLetters(bus: EventBus, group: string, seqs?: number[]): Promise<number> {
  let replayed = 0;
  for (const dead of await deadLetters(bus, group)) {
    if (seqs && !seqs.includes(dead.seq)) continue;
    const type = typeof dead.event === "object" ? dead.event.type : "unknown";
    await bus.js.publish(replaySubject(group, type), typeof dead.event === "string" ? dead.event : JSON.stringify(dead.event), {
      msgID: `replay:dead:${dead.seq}`,
    });
    await bus.jsm.streams.deleteMessage(DEAD_LETTER_STREAM, dead.seq);
    replayed++;
  }
  return replayed;
}

/** Sends the events of a time range (optionally of some types) to one group again. */
export async function replayRange(bus: EventBus, group: string, since: Date, until: Date = new Date(), types?: string[]): Promise<number> {
  let replayed = 0;
  const run = Date.now(); // each replay is new; within one, a retried publish is a duplicate
  // In flight together, a window at a time: a replay of thousands takes seconds, not minutes.
  const inFlight: Promise<unknown>[] = [];
  for (const m of await readStream(bus, EVENTS_STREAM, "events.>", { startTime: since }, until)) {
    const event = decode(m);
    if (typeof event !== "object" || (types && !types.includes(event.type))) continue;
    inFlight.push(bus.js.publish(replaySubject(group, event.type), m.data, { msgID: `replay:${group}:${m.seq}:${run}` }));
    replayed++;
    if (inFlight.length >= PUBLISH_IN_FLIGHT) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
  return replayed;
}
