import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { AgencyGuard } from "../../platform/resilience";
import { HubError } from "../../platform/errors";

const policy = { failureThreshold: 3, openMs: 100, concurrency: 2, queue: 1, retries: 2, retryBaseMs: 1 };
const down = () => Promise.reject(new HubError("HUB_ERR_AGENCY_UNAVAILABLE", "down", { agency: "a" }));
const refused = () => Promise.reject(new HubError("HUB_ERR_AGENCY_REFUSED", "no", { agency: "a" }));

test("the breaker opens after consecutive failures, fails fast, then closes after a good probe", async () => {
  const guard = new AgencyGuard("a", policy);
  let calls = 0;
  const failing = () => (calls++, down());
  for (let i = 0; i < 3; i++) await assert.rejects(guard.run(failing, false), /down/);
  assert.equal(guard.circuit, "open");
  await assert.rejects(guard.run(failing, false), /circuit open/);
  assert.equal(calls, 3, "an open circuit does not call the agency");

  await sleep(120);
  assert.equal(guard.circuit, "half-open");
  assert.equal(await guard.run(async () => "ok", false), "ok");
  assert.equal(guard.circuit, "closed");
});

test("a failed probe opens the circuit again; business refusals never open it", async () => {
  const guard = new AgencyGuard("b", policy);
  for (let i = 0; i < 5; i++) await assert.rejects(guard.run(refused, false), /no/);
  assert.equal(guard.circuit, "closed");
  for (let i = 0; i < 3; i++) await assert.rejects(guard.run(down, false));
  await sleep(120);
  await assert.rejects(guard.run(down, false), /down/);
  assert.equal(guard.circuit, "open");
});

test("safe calls are retried with backoff, unsafe ones are not", async () => {
  const guard = new AgencyGuard("c", { ...policy, failureThreshold: 10 });
  let n = 0;
  const flaky = async () => (++n < 3 ? down() : "third time");
  assert.equal(await guard.run(flaky, true), "third time");
  assert.equal(n, 3);
  n = 0;
  await assert.rejects(guard.run(flaky, false));
  assert.equal(n, 1);
  n = 0;
  await assert.rejects(guard.run(refused, true), /no/);
});

test("the bulkhead bounds calls in flight and waiting", async () => {
  const guard = new AgencyGuard("d", policy);
  let inFlight = 0,
    peak = 0;
  const slow = async () => {
    peak = Math.max(peak, ++inFlight);
    await sleep(30);
    inFlight--;
    return "done";
  };
  const results = await Promise.allSettled([1, 2, 3, 4].map(() => guard.run(slow, false)));
  assert.equal(peak, 2, "at most `concurrency` in flight");
  assert.deepEqual(
    results.map((r) => r.status),
    ["fulfilled", "fulfilled", "fulfilled", "rejected"],
    "one waits, the next is refused",
  );
  assert.match(String((results[3] as PromiseRejectedResult).reason), /too many calls waiting/);
});
