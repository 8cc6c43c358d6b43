/**
 * The publishing end of a `bench:events` path, in a worker thread: in the consumer's thread
 * its CPU would slow the consumer it measures (as a hub's consumers and publishers run in
 * different processes). Answers each command once its publishes are acknowledged.
 */
import { parentPort, Worker, workerData } from "node:worker_threads";
import { publisherOf, type PathName } from "./event-paths";

export type Command = { kind: "full"; count: number; inFlight: number } | { kind: "rate"; rate: number; seconds: number } | { kind: "close" };
export interface Answer {
  count: number;
  startedAt: number;
  publishedAt: number;
}

/** `count` publishes, `inFlight` at a time. */
async function full(publish: (i: number) => Promise<unknown>, count: number, inFlight: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < count; i = next++) await publish(i);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}

/** Publishes at `rate` a second for `seconds`, not waiting for acknowledgements to go on; returns how many. */
async function atRate(publish: (i: number) => Promise<unknown>, rate: number, seconds: number): Promise<number> {
  const count = Math.max(1, Math.round(rate * seconds));
  const acks: Promise<unknown>[] = [];
  const t0 = performance.now();
  while (acks.length < count) {
    const due = Math.min(count, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    while (acks.length < due) acks.push(publish(acks.length));
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(acks);
  return count;
}

async function serve(): Promise<void> {
  const { name, natsUrl, run } = workerData as { name: PathName; natsUrl: string; run: string };
  const publisher = await publisherOf(name, natsUrl, run);
  parentPort!.on("message", async (command: Command) => {
    if (command.kind === "close") return void (await publisher.close(), parentPort!.close());
    const startedAt = Date.now();
    let count = 0;
    if (command.kind === "full") await full(publisher.publish, (count = command.count), command.inFlight);
    else count = await atRate(publisher.publish, command.rate, command.seconds);
    parentPort!.postMessage({ count, startedAt, publishedAt: Date.now() } satisfies Answer);
  });
  parentPort!.postMessage("ready");
}

/** A publisher thread of path `name`; `send` answers once that command's publishes are acknowledged. */
export async function startPublisher(name: PathName, natsUrl: string, run: string): Promise<{ send(c: Command): Promise<Answer>; close(): Promise<void> }> {
  const worker = new Worker(__filename, { workerData: { name, natsUrl, run }, execArgv: ["--import", "tsx"] });
  const next = () =>
    new Promise<unknown>((resolve, reject) => {
      const settle = (fn: () => void) => (worker.off("message", onMessage), worker.off("error", onError), fn());
      const onMessage = (m: unknown) => settle(() => resolve(m));
      const onError = (err: Error) => settle(() => reject(err));
      worker.on("message", onMessage).on("error", onError);
    });
  await next();
  return {
    send: async (c) => {
      const answer = next();
      worker.postMessage(c);
      return (await answer) as Answer;
    },
    async close() {
      worker.postMessage({ kind: "close" } satisfies Command);
      await new Promise((r) => worker.once("exit", r));
    },
  };
}

if (parentPort && (workerData as { name?: string } | undefined)?.name) void serve();
