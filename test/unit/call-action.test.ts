/** How an activity's call to an agency's action turns its errors into Temporal's: final, or retried. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MockActivityEnvironment } from "@temporalio/testing";
import { ApplicationFailure } from "@temporalio/common";
import { Errors, type ServiceBroker } from "moleculer";
import { callAction } from "../../workflows/activities/call-action";

const quiet = { info() {}, warn() {} };
const failingWith = (err: Error) => ({ logger: quiet, call: async () => Promise.reject(err) }) as unknown as ServiceBroker;
const attempt = (err: Error) => new MockActivityEnvironment().run(callAction, failingWith(err), "civil-registry.identity.verify", {});

test("a 4xx the agency or the contract gave is final", async () => {
  const refused = new Errors.MoleculerClientError("no such person", 404, "HUB_ERR_NOT_FOUND");
  await assert.rejects(attempt(refused), (e) => e instanceof ApplicationFailure && e.nonRetryable && e.type === "HUB_ERR_NOT_FOUND");
});

test("no node offering the action just now (a restarting adapter) is retried, not final", async () => {
  const missing = new Errors.ServiceNotFoundError({ action: "civil-registry.identity.verify" });
  await assert.rejects(attempt(missing), (e) => !(e instanceof ApplicationFailure) && (e as Error).message === missing.message);
});
