import { test } from "node:test";
import assert from "node:assert/strict";
import type { ServiceBroker } from "moleculer";
import { logsAt } from "../../platform/log-level";

const broker = (logger: unknown) => ({ options: { logger } }) as unknown as ServiceBroker;

test("a line is built only when the broker's logger writes its level", () => {
  const warn = broker({ type: "Console", options: { level: "warn" } });
  assert.deepEqual([logsAt(warn, "error"), logsAt(warn, "warn"), logsAt(warn, "info"), logsAt(warn, "debug")], [true, true, false, false]);
  assert.equal(logsAt(broker({ type: "Console", options: { level: "info" } }), "info"), true);
  assert.equal(logsAt(broker(false), "error"), false);
  // A setup it cannot read (levels per module, another logger) counts as writing.
  assert.equal(logsAt(broker({ type: "Console", options: { level: { "**": "warn" } } }), "info"), true);
  assert.equal(logsAt(broker(true), "debug"), true);
});
