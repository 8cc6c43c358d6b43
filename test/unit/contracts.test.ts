import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import openapiTS, { astToString } from "openapi-typescript";
import { operations, openapi } from "../../contracts";
import { OPERATIONS } from "../../gateway/operations";

const ROOT = path.join(__dirname, "../..");

test("the generated types are what `npm run contracts:gen` makes of the contract now", async () => {
  const ast = await openapiTS(new URL(`file://${path.join(ROOT, "contracts/openapi.yaml")}`));
  const committed = fs.readFileSync(path.join(ROOT, "contracts/generated/types.ts"), "utf8");
  assert.ok(committed.endsWith(astToString(ast)), "contracts/generated/types.ts is stale: run npm run contracts:gen and commit it");
});

test("the gateway routes exactly the documented operations, each to its operationId", () => {
  const documented = operations().map((o) => `${o.method} ${o.path} ${o.operationId}`);
  const routed = OPERATIONS.map((c) => `${c.op.method} ${c.alias.split(" ")[1]!.replace(/:(\w+)/g, "{$1}")} ${c.op.operationId}`);
  assert.deepEqual(routed, documented);
});

test("the served document is OpenAPI 3.1 with every schema file inlined", () => {
  assert.equal(openapi.openapi, "3.1.0");
  const text = JSON.stringify(openapi);
  assert.ok(!/"\$ref":"[^"#]/.test(text), "every $ref points inside the document");
  const schemas = Object.keys((openapi.components as { schemas: object }).schemas).sort();
  const files = fs
    .readdirSync(path.join(ROOT, "contracts/schemas"))
    .map((f) => f.replace(/\.json$/, ""))
    .sort();
  assert.deepEqual(schemas, files);
});
