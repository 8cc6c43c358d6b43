import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { loadConfig, SETTINGS, ConfigError } from "../../platform/config";
import { natsServers } from "../../platform/nats-auth";

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

test("NATS_URL takes a comma list of a cluster's servers, each checked; HUB_STREAM_REPLICAS 1 to 5", () => {
  const config = loadConfig({ NATS_URL: "nats://a:4222, nats://b:4222,tls://c:4222/", HUB_STREAM_REPLICAS: "3" });
  assert.equal(config.natsUrl, "nats://a:4222,nats://b:4222,tls://c:4222");
  assert.deepEqual(natsServers(config.natsUrl), ["nats://a:4222", "nats://b:4222", "tls://c:4222"]);
  assert.deepEqual(natsServers(loadConfig({}).natsUrl), ["nats://127.0.0.1:4222"]);
  assert.equal(config.streamReplicas, 3);
  assert.equal(loadConfig({}).streamReplicas, 1);
  assert.throws(() => loadConfig({ NATS_URL: "nats://a:4222,b:4222" }), /NATS_URL="nats:\/\/a:4222,b:4222" must use nats or tls/);
  assert.throws(() => loadConfig({ NATS_URL: "," }), /NATS_URL="," must be a URL/);
  assert.throws(() => loadConfig({ HUB_STREAM_REPLICAS: "6" }), /HUB_STREAM_REPLICAS="6" must be a whole number from 1 to 5/);
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
