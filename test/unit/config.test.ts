import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { loadConfig, SETTINGS, ConfigError } from "../../platform/config";

test("defaults give a working embedded configuration", () => {
  const config = loadConfig({});
  assert.equal(config.port, 3000);
  assert.equal(config.natsUrl, "nats://127.0.0.1:4222");
  assert.equal(config.databaseUrl, undefined);
  assert.deepEqual(config.services, ["api", "civil-registry", "emergency", "linkages", "worker", "utilities", "crowd", "flights"]);
  assert.ok(path.isAbsolute(config.dataDir));
});

test("a bad variable is refused with a message naming it, every bad one at once", () => {
  assert.throws(
    () => loadConfig({ HUB_PORT: "http", NATS_URL: "localhost:4222", HUB_SERVICES: "api,billing" }),
    (err: Error) =>
      err instanceof ConfigError &&
      /HUB_PORT="http" must be a port number/.test(err.message) &&
      /NATS_URL="localhost:4222" must use nats or tls/.test(err.message) &&
      /HUB_SERVICES="api,billing" unknown service "billing"/.test(err.message),
  );
});

test("an empty variable means its default", () => {
  assert.equal(loadConfig({ HUB_PORT: "" }).port, 3000);
});

test("the configuration table of docs/configuration.md lists every setting with its default", () => {
  const page = fs.readFileSync(path.join(__dirname, "../../docs/configuration.md"), "utf8");
  for (const s of Object.values(SETTINGS)) {
    const row = page.split("\n").find((line) => line.startsWith(`| \`${s.env}\``));
    assert.ok(row, `docs/configuration.md lacks a row for ${s.env}`);
    if (s.default !== undefined) assert.ok(row.includes(`\`${s.default}\``), `docs/configuration.md row for ${s.env} lacks its default ${s.default}`);
  }
});
