import { test } from "node:test";
import assert from "node:assert/strict";
import { CrowdState, levelOf } from "../../crowd/state";

const T0 = Date.parse("2026-12-01T10:00:00Z");
const S = 1000;

function twoDevices() {
  const state = new CrowdState(120 * S);
  state.setPlace({ placeId: "P1", capacity: 100 }, T0);
  state.setDevices(
    [
      { deviceId: "D1", placeId: "P1" },
      { deviceId: "D2", placeId: "P1" },
    ],
    T0,
  );
  return state;
}

test("levels: normal below 80 %, warning from 80 %, critical from 100 %, or the place's own thresholds", () => {
  const place = { placeId: "P", capacity: 100 };
  assert.equal(levelOf(79, place), "normal");
  assert.equal(levelOf(80, place), "warning");
  assert.equal(levelOf(99, place), "warning");
  assert.equal(levelOf(100, place), "critical");
  assert.equal(levelOf(60, { ...place, warningAt: 0.5, criticalAt: 0.7 }), "warning");
  assert.equal(levelOf(70, { ...place, warningAt: 0.5, criticalAt: 0.7 }), "critical");
});

test("a place's count is the sum of its devices' latest readings, and a crowd rising through the thresholds changes the level once each", () => {
  const state = twoDevices();
  assert.equal(state.reading({ deviceId: "D1", placeId: "P1", count: 30, at: T0 }, T0).change, undefined);
  const warning = state.reading({ deviceId: "D2", placeId: "P1", count: 50, at: T0 + S }, T0 + S).change;
  assert.deepEqual(warning, {
    placeId: "P1",
    level: "warning",
    previousLevel: "normal",
    count: 80,
    capacity: 100,
    occupancy: 0.8,
    at: new Date(T0 + S).toISOString(),
  });
  assert.equal(state.reading({ deviceId: "D2", placeId: "P1", count: 55, at: T0 + 2 * S }, T0 + 2 * S).change, undefined, "still warning: no change");
  const critical = state.reading({ deviceId: "D1", placeId: "P1", count: 45, at: T0 + 3 * S }, T0 + 3 * S).change;
  assert.equal(critical?.level, "critical");
  assert.equal(critical?.previousLevel, "warning");
  assert.equal(critical?.count, 100, "the latest of each device: 45 + 55, not every reading summed");
  const back = state.reading({ deviceId: "D1", placeId: "P1", count: 0, at: T0 + 4 * S }, T0 + 4 * S).change;
  assert.equal(back?.level, "normal");
  assert.equal(state.view("P1")?.count, 55);
});

test("out-of-order and duplicate readings are ignored, and said so", () => {
  const state = twoDevices();
  state.reading({ deviceId: "D1", placeId: "P1", count: 10, at: T0 + 5 * S }, T0 + 5 * S);
  assert.deepEqual(state.reading({ deviceId: "D1", placeId: "P1", count: 90, at: T0 + 4 * S }, T0 + 5 * S), { dropped: "out_of_order" });
  assert.deepEqual(state.reading({ deviceId: "D1", placeId: "P1", count: 90, at: T0 + 5 * S }, T0 + 5 * S), { dropped: "duplicate" });
  assert.equal(state.view("P1")?.count, 10);
});

test("bad readings are dropped with their reason", () => {
  const state = twoDevices();
  state.setPlace({ placeId: "P2", capacity: 10 }, T0);
  state.setDevices(
    [
      { deviceId: "D1", placeId: "P1" },
      { deviceId: "D2", placeId: "P1" },
      { deviceId: "D9", placeId: "P9" },
    ],
    T0,
  );
  const drop = (r: Partial<Parameters<CrowdState["reading"]>[0]>) => state.reading({ deviceId: "D1", placeId: "P1", count: 1, at: T0, ...r }, T0).dropped;
  assert.equal(drop({ deviceId: "NOPE" }), "unknown_device");
  assert.equal(drop({ placeId: "P2" }), "wrong_place");
  assert.equal(drop({ deviceId: "D9", placeId: "P9" }), "unknown_place");
  assert.equal(drop({ count: -1 }), "negative");
  assert.equal(drop({ count: 1001 }), "absurd");
  assert.equal(drop({ count: 1000 }), undefined, "10x the capacity is still taken");
  assert.equal(drop({ deviceId: "D2", at: T0 + 5 * 60 * S + 1 }), "future");
  assert.equal(drop({ deviceId: "D2", at: T0 + 5 * 60 * S }), undefined, "5 minutes ahead is still taken");
});

test("a reading older than 2 minutes no longer counts: the device shows stale and the level falls at the sweep", () => {
  const state = twoDevices();
  state.reading({ deviceId: "D1", placeId: "P1", count: 60, at: T0 }, T0);
  assert.equal(state.reading({ deviceId: "D2", placeId: "P1", count: 45, at: T0 + 60 * S }, T0 + 60 * S).change?.level, "critical");
  assert.deepEqual(state.sweep(T0 + 119 * S), []);
  const changes = state.sweep(T0 + 120 * S);
  assert.equal(changes.length, 1);
  assert.equal(changes[0]!.level, "normal", "45 of 100 once D1's 60 has gone stale");
  assert.equal(changes[0]!.at, new Date(T0 + 120 * S).toISOString(), "when the reading went stale");
  assert.equal(state.staleDevices(), 1);
  const d1 = state.view("P1")!.devices.find((d) => d.deviceId === "D1")!;
  assert.equal(d1.stale, true);
  assert.equal(d1.lastReadingAt, new Date(T0).toISOString());
  // A fresh reading counts again.
  state.reading({ deviceId: "D1", placeId: "P1", count: 40, at: T0 + 121 * S }, T0 + 121 * S);
  assert.equal(state.staleDevices(), 0);
  assert.equal(state.view("P1")!.count, 85);
});

test("a reading that is stale already when it arrives (a rebuild) is kept as the device's latest but does not count", () => {
  const state = twoDevices();
  assert.equal(state.reading({ deviceId: "D1", placeId: "P1", count: 99, at: T0 }, T0 + 200 * S).change, undefined);
  assert.equal(state.view("P1")!.count, 0);
  assert.equal(state.staleDevices(), 1);
  assert.deepEqual(state.reading({ deviceId: "D1", placeId: "P1", count: 99, at: T0 }, T0 + 200 * S), { dropped: "duplicate" });
});

test("the level a place starts with is the one last published: a rebuild to the same level changes nothing", () => {
  const state = twoDevices();
  state.setLevel("P1", "critical");
  assert.equal(state.reading({ deviceId: "D1", placeId: "P1", count: 100, at: T0 }, T0).change, undefined);
  assert.deepEqual(state.levels(), { normal: 0, warning: 0, critical: 1 });
});

test("removing a device takes its reading out; changing a place's thresholds re-levels it", () => {
  const state = twoDevices();
  state.reading({ deviceId: "D1", placeId: "P1", count: 50, at: T0 }, T0);
  state.reading({ deviceId: "D2", placeId: "P1", count: 40, at: T0 }, T0);
  assert.equal(state.level("P1"), "warning");
  const changes = state.setDevices([{ deviceId: "D2", placeId: "P1" }], T0 + S);
  assert.equal(changes[0]?.level, "normal");
  assert.equal(state.view("P1")!.count, 40);
  assert.equal(state.setPlace({ placeId: "P1", capacity: 100, warningAt: 0.3, criticalAt: 0.4 }, T0 + 2 * S)?.level, "critical");
  assert.equal(state.deviceCount(), 1);
});
