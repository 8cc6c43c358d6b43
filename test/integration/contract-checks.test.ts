/** The contract lints clean, and the breaking-change check passes now and bites when it should. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { openapi } from "../../contracts";
import { breakingChanges, latestRelease } from "../../ops/contracts";

const ROOT = path.join(__dirname, "../..");
type Doc = Parameters<typeof breakingChanges>[0];
const current = () =>
  JSON.parse(JSON.stringify(openapi)) as Doc & {
    paths: Record<string, unknown>;
    components: { schemas: Record<string, { required: string[]; properties: Record<string, unknown> }> };
  };

test("redocly lints the contract clean", () => {
  // Throws on a non-zero exit, with Redocly's report in the error.
  execFileSync(process.execPath, ["--import", "tsx", "ops/contracts.ts", "lint"], { cwd: ROOT, stdio: "pipe" });
});

test("no breaking change against the last released contract", async () => {
  const released = latestRelease();
  assert.ok(released, "contracts/released/ holds a release");
  const { refused } = await breakingChanges(released.doc, current());
  assert.deepEqual(refused, []);
});

test("the check bites: a new required field or a removed path fails without a new major version", async () => {
  const base = current();
  base.info.version = "1.0.0";
  const revision = current();
  revision.info.version = "1.1.0";
  revision.components.schemas.IdentityVerificationRequest!.required.push("purpose");
  revision.components.schemas.IdentityVerificationRequest!.properties.purpose = { type: "string" };
  delete revision.paths["/v1/linkages/{id}"];
  const { changes, refused } = await breakingChanges(base, revision);
  assert.deepEqual(changes.map((c) => c.id).sort(), ["api-path-removed-without-deprecation", "new-required-request-property"]);
  assert.equal(refused.length, 2);

  // A major version allows removing the old path, not changing /v1 in place...
  revision.info.version = "2.0.0";
  const raised = await breakingChanges(base, revision);
  assert.deepEqual(
    raised.refused.map((c) => c.id),
    ["new-required-request-property"],
  );

  // ...while the same change served under /v1's successor path is fine.
  const moved = current();
  moved.info.version = "2.0.0";
  delete moved.paths["/v1/identity-verifications"];
  moved.paths["/v2/identity-verifications"] = revision.paths["/v1/identity-verifications"];
  const ok = await breakingChanges(base, moved);
  assert.deepEqual(ok.refused, []);
});

test("while the contract is 0.y.z, a new minor version is the breaking release", async () => {
  const base = current();
  base.info.version = "0.2.0";
  const revision = current();
  revision.components.schemas.IdentityVerificationRequest!.required.push("purpose");
  revision.components.schemas.IdentityVerificationRequest!.properties.purpose = { type: "string" };
  revision.info.version = "0.2.1";
  assert.equal((await breakingChanges(base, revision)).refused.length, 1, "a patch release may not break");
  revision.info.version = "0.3.0";
  assert.deepEqual((await breakingChanges(base, revision)).refused, []);
});
