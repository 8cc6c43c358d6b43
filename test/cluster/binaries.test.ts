/**
 * The binaries the production-shaped cluster stands on (issue 23), provisioned as the stack
 * provisions its others: the Temporal server and its SQL tool at the version ops/versions.json
 * pins (built once with `go install` into the per-user cache; the first build takes minutes),
 * and HAProxy from Debian's package. Not in `npm test`'s default run until the cluster is: a cold
 * build adds minutes to CI for nothing that uses it yet. Run it with
 * `npm test -- test/cluster/binaries.test.ts`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import versions from "../../ops/versions.json";
import { ensureBinary } from "../../ops/stack/provision";
import { ensureHaproxy, haproxyVersion } from "../../ops/stack/haproxy";

const say = (line: string) => console.log(`[cluster-binaries] ${line}`);
const run = (bin: string, args: string[]) => execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });

test("the Temporal server at its pinned version, and its SQL tool", { timeout: 30 * 60_000 }, async () => {
  const server = await ensureBinary("temporal-server", say);
  const sql = await ensureBinary("temporal-sql-tool", say);
  const pinned = versions["temporal-server"].version.replace(/^v/, "");
  assert.equal(run(server, ["--version"]).trim(), `temporal version ${pinned}`);
  assert.equal(run(sql, ["--version"]).trim(), `temporal-sql-tool version ${pinned}`);
  assert.match(run(sql, ["--help"]), /setup-schema.*\n.*update-schema.*\n.*create-database/);
});

test("HAProxy from Debian's package checks a configuration with the cluster's retry and redispatch options", async () => {
  const haproxy = await ensureHaproxy(say);
  assert.match(haproxyVersion(haproxy), /^2\.\d+\./);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "haproxy-"));
  const config = path.join(dir, "haproxy.cfg");
  fs.writeFileSync(
    config,
    [
      "defaults",
      "  mode http",
      "  timeout connect 1s",
      "  timeout client 5s",
      "  timeout server 5s",
      "  retries 3",
      "  retry-on conn-failure empty-response",
      "  option redispatch",
      "frontend hub",
      "  bind 127.0.0.1:8080",
      "  default_backend gateways",
      "backend gateways",
      "  option httpchk GET /healthz",
      "  server g1 127.0.0.1:1 check",
      "",
    ].join("\n"),
  );
  try {
    assert.match(run(haproxy, ["-c", "-f", config]), /Configuration file is valid/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
