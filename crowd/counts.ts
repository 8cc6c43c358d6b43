/**
 * Reading COUNTS: an ordered consumer (no acknowledgements, nothing stored at the server for
 * it) from the stream's first message, so a node that starts rebuilds its places from what the
 * stream holds, then follows live. Each message is decoded and checked cheaply (JSON, the
 * contract's CrowdCount schema compiled once, the subject against the body); what fails is
 * dropped and counted by reason, never dead-lettered.
 */
import type { ConsumerMessages, JsMsg } from "nats";
import { ajv, contractSchema } from "../contracts";
import type { components } from "../contracts/generated/types";
import type { EventBus } from "../platform/events/bus";
import { COUNTS_STREAM } from "../platform/events/streams";
import type { DropReason, Reading } from "./state";

type CrowdCount = components["schemas"]["CrowdCount"];

const validCount = ajv.getSchema((contractSchema("CrowdCount") as { $ref: string }).$ref)!;
const decoder = new TextDecoder();

/** A message's reading, or why it is dropped before it reaches the state. */
export function decodeCount(subject: string, data: Uint8Array): Reading | { dropped: DropReason } {
  let body: CrowdCount;
  try {
    body = JSON.parse(decoder.decode(data));
  } catch {
    return { dropped: "malformed" };
  }
  // A negative count breaks the schema too; it has a reason of its own.
  if (typeof body?.count === "number" && body.count < 0) return { dropped: "negative" };
  if (!validCount(body)) return { dropped: "invalid" };
  const [, subjectPlace, subjectDevice, ...rest] = subject.split(".");
  if (rest.length || subjectDevice !== body.deviceId) return { dropped: "wrong_subject" };
  if (subjectPlace !== body.placeId) return { dropped: "wrong_place" };
  return { deviceId: body.deviceId, placeId: body.placeId, count: body.count, at: Date.parse(body.at) };
}

export interface CountsHandler {
  /** One message (those the stream held when the node started come first, then `replayed`). */
  message(msg: JsMsg): void;
  /** The stream's messages from before the start have all been read. */
  replayed(): void;
  onError(err: unknown): void;
}

export interface CountsReader {
  stop(): Promise<void>;
}

/** How long the replay waits for a message before it takes the stream as read (its messages may have aged out). */
const REPLAY_IDLE_MS = 2000;

export async function readCounts(bus: EventBus, handler: CountsHandler): Promise<CountsReader> {
  const info = await bus.jsm.streams.info(COUNTS_STREAM);
  const lastAtStart = info.state.messages ? info.state.last_seq : 0;
  let replaying = lastAtStart > 0;
  let idle: NodeJS.Timeout | undefined;
  const done = () => {
    if (!replaying) return;
    replaying = false;
    clearTimeout(idle);
    handler.replayed();
  };
  const watchIdle = () => {
    clearTimeout(idle);
    if (replaying) idle = setTimeout(done, REPLAY_IDLE_MS);
  };
  if (!replaying) handler.replayed();
  else watchIdle();

  const consumer = await bus.js.consumers.get(COUNTS_STREAM, { filterSubjects: ["counts.>"] });
  let messages: ConsumerMessages | undefined;
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      try {
        messages = await consumer.consume({ max_messages: 4096 });
        for await (const msg of messages) {
          handler.message(msg);
          if (replaying) {
            if (msg.info.streamSequence >= lastAtStart || msg.info.pending === 0) done();
            else watchIdle();
          }
        }
      } catch (err) {
        if (stopping) break;
        handler.onError(err);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();
  return {
    async stop() {
      stopping = true;
      clearTimeout(idle);
      await messages?.close();
      await loop;
    },
  };
}
