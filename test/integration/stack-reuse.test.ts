/**
 * The stack (npm start, npm test) uses an agency sandbox already listening at its address,
 * and refuses one whose port is held by something else instead of sending the hub there.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import os from "node:os";
import { MissingPieceError } from "../../ops/stack/provision";
import { startSandbox } from "../../ops/stack/services";
import { freePort } from "../support/hub";

test("the running civil-registry sandbox is used, not started again", async () => {
  const said: string[] = [];
  const sandbox = await startSandbox("civil-registry", process.env.CIVIL_REGISTRY_URL!, os.tmpdir(), {}, (line) => said.push(line));
  assert.equal(sandbox.child, undefined, "nothing started");
  assert.deepEqual(said, [`civil-registry sandbox: using the one running at ${process.env.CIVIL_REGISTRY_URL}`]);
});

test("a port taken by another HTTP server is refused, naming the setting to change", async () => {
  const port = await freePort();
  const other = http.createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}'));
  await new Promise<void>((resolve) => other.listen(port, "127.0.0.1", resolve));
  try {
    await assert.rejects(
      startSandbox("utilities", `http://127.0.0.1:${port}`, os.tmpdir(), {}, () => {}),
      (err: Error) => {
        assert.ok(err instanceof MissingPieceError);
        assert.equal(err.message, `http://127.0.0.1:${port} is taken by something that is not the utilities sandbox; set UTILITIES_URL to a free address`);
        return true;
      },
    );
  } finally {
    other.close();
  }
});
