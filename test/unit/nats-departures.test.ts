import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { departures } from "../../platform/nats-departures";

test("a client that disconnects and does not come back within the grace has gone", async () => {
  const gone: string[] = [];
  const watch = departures((name) => gone.push(name), 30);
  watch.connected("adapter-1", 0);
  watch.disconnected("adapter-1");
  assert.deepEqual(gone, [], "not before the grace is over");
  await sleep(60);
  assert.deepEqual(gone, ["adapter-1"]);
});

test("a client that connects again within the grace (its server stopped, it moved) has not gone", async () => {
  const gone: string[] = [];
  const watch = departures((name) => gone.push(name), 30);
  watch.disconnected("adapter-1", 1000);
  watch.connected("adapter-1", 1001);
  await sleep(60);
  assert.deepEqual(gone, []);
});

test("stop drops the pending verdicts", async () => {
  const gone: string[] = [];
  const watch = departures((name) => gone.push(name), 30);
  watch.disconnected("adapter-1");
  watch.stop();
  await sleep(60);
  assert.deepEqual(gone, []);
});
