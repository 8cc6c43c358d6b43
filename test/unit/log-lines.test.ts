import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

// A broker with the hub's logger in a child process, stdout and stderr into one file (so their order shows).
const script = `
const { ServiceBroker } = require("moleculer");
const { batchedLogger } = require(${JSON.stringify(path.resolve(__dirname, "../../platform/log-lines"))});
const { redactingFormatter } = require(${JSON.stringify(path.resolve(__dirname, "../../platform/redact"))});
const broker = new ServiceBroker({ nodeID: "t", logger: batchedLogger({ formatter: redactingFormatter, level: "info" }) });
const log = broker.getLogger("test");
let writes = 0;
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (...args) => (writes++, write(...args));
for (let i = 1; i <= 3; i++) log.info({ idNumber: "310104199204300430", i }, "line " + i);
log.debug("not at this level");
log.error("failed after line 3");
log.info("line 4");
setImmediate(() => {
  log.info("line 5");
  process.on("exit", () => process.stderr.write(JSON.stringify({ message: "stdout writes " + writes }) + "\\n"));
  process.exit(0);
});
`;

test("log lines: written once per turn, in order, redacted; an error at once after the lines before it; what is pending on exit", () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "log-lines-")), "out.log");
  const fd = fs.openSync(file, "w");
  const run = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  assert.equal(run.status, 0);
  const out = fs.readFileSync(file, "utf8");
  const lines = out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { message: string; mod?: string; idNumber?: string });
  assert.deepEqual(
    lines.filter((l) => l.mod === "test" || !l.mod).map((l) => l.message),
    ["line 1", "line 2", "line 3", "failed after line 3", "line 4", "line 5", "stdout writes 3"],
  );
  assert.equal(lines.find((l) => l.message === "line 1")!.idNumber, "[redacted]");
  assert.ok(!out.includes("310104199204300430"));
});
