import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { checkImports } from "../../ops/check-imports";

const ROOT = path.resolve(__dirname, "../..");

/** Deliberately wrong imports, each in a virtual file added to the real tree, and the line the check must print. */
const WRONG: { rule: string; file: string; source: string; says: string }[] = [
  {
    rule: "platform → gateway",
    file: "platform/zz-wrong.ts",
    source: `import { gatewayService } from "../gateway/service";`,
    says: "platform/zz-wrong.ts:1 imports gateway/service.ts: platform may import contracts only",
  },
  {
    rule: "platform → hub (export … from)",
    file: "platform/zz-wrong-hub.ts",
    source: `\nexport { startHubNode } from "../hub/node";`,
    says: "platform/zz-wrong-hub.ts:2 imports hub/node.ts: platform may import contracts only",
  },
  {
    rule: "an adapter → another adapter",
    file: "adapters/civil-registry/zz-wrong.ts",
    source: `import { toPremise } from "../utilities/mapping";`,
    says: "adapters/civil-registry/zz-wrong.ts:1 imports adapters/utilities/mapping.ts: adapter may import platform, contracts only (its own files: adapters/civil-registry/ only)",
  },
  {
    rule: "an adapter → gateway (require)",
    file: "adapters/emergency/zz-wrong.ts",
    source: `const problem = require("../../gateway/problem");`,
    says: "adapters/emergency/zz-wrong.ts:1 imports gateway/problem.ts: adapter may import platform, contracts only",
  },
  {
    rule: "an adapter → workflows (import())",
    file: "adapters/utilities/zz-wrong.ts",
    source: `export const load = () => import("../../workflows/worker");`,
    says: "adapters/utilities/zz-wrong.ts:1 imports workflows/worker.ts: adapter may import platform, contracts only",
  },
  {
    rule: "an adapter → its own sandbox",
    file: "adapters/civil-registry/zz-wrong-sandbox.ts",
    source: `import { startSandbox } from "./sandbox/server";`,
    says: "adapters/civil-registry/zz-wrong-sandbox.ts:1 imports adapters/civil-registry/sandbox/server.ts: adapter may import platform, contracts only",
  },
  {
    rule: "a sandbox → its adapter",
    file: "adapters/utilities/sandbox/zz-wrong.ts",
    source: `import { toPremise } from "../mapping";`,
    says: "adapters/utilities/sandbox/zz-wrong.ts:1 imports adapters/utilities/mapping.ts: sandbox may import sandbox-kit, platform, contracts only",
  },
  {
    rule: "workflow code → platform (a value import)",
    file: "workflows/linkages/zz-wrong.ts",
    source: `import { nameBasedUuid } from "../../platform/ids";`,
    says: "workflows/linkages/zz-wrong.ts:1 imports platform/ids.ts: workflow-code may import contracts only, and workflows/activities/ with import type only",
  },
  {
    rule: "workflow code → activities with a value import",
    file: "workflows/linkages/zz-wrong-activities.ts",
    source: `import { civilRegistryActivities } from "../activities/civil-registry";`,
    says: "workflows/linkages/zz-wrong-activities.ts:1 imports workflows/activities/civil-registry.ts: workflow-code may import contracts only, and workflows/activities/ with import type only",
  },
  {
    rule: "gateway → adapters (even a type)",
    file: "gateway/zz-wrong.ts",
    source: `import type { emergencyService } from "../adapters/emergency/service";`,
    says: "gateway/zz-wrong.ts:1 imports adapters/emergency/service.ts: gateway may import platform, contracts, partners, audit, catalogue, operators only",
  },
  {
    rule: "hub → a catalogue agency's sandbox",
    file: "hub/zz-wrong-sandbox.ts",
    source: `import { startSandbox } from "../agencies/fire-safety/sandbox/server";`,
    says: "hub/zz-wrong-sandbox.ts:1 imports agencies/fire-safety/sandbox/server.ts: hub may import platform, contracts, partners, audit, catalogue, operators, gateway, workflow-code, linkages, adapter, crowd, flights, broker-settings only",
  },
  {
    rule: "one catalogue agency's sandbox → another's",
    file: "agencies/fire-safety/sandbox/zz-wrong.ts",
    source: `import { policeRuling } from "../../public-security/sandbox/ruling";`,
    says: "agencies/fire-safety/sandbox/zz-wrong.ts:1 imports agencies/public-security/sandbox/ruling.ts: sandbox may import sandbox-kit, platform, contracts only (its own files: agencies/fire-safety/sandbox/ only)",
  },
  {
    rule: "a file in no part",
    file: "stray/zz-wrong.ts",
    source: `export const nothing = 0;`,
    says: "stray/zz-wrong.ts: in no part of the map: add it to the map in ops/check-imports.ts",
  },
  {
    rule: "a relative import that names no file",
    file: "platform/zz-wrong-missing.ts",
    source: `import { gone } from "./no-such-file";`,
    says: "platform/zz-wrong-missing.ts:1 imports ./no-such-file, which is no file in the tree",
  },
];

/** Imports the map allows: none of these files may be reported. */
const RIGHT: Record<string, string> = {
  "workflows/linkages/zz-right.ts": [
    `import type { civilRegistryActivities } from "../activities/civil-registry";`,
    `import { type utilitiesActivities } from "../activities/utilities";`,
    `type Announce = typeof import("../activities/announcements");`,
    `import { eidIssuance } from "./eid-issuance";`,
    `import type { components } from "../../contracts/generated/types";`,
  ].join("\n"),
  "adapters/emergency/zz-right.ts": `import { emergencyService } from "./service";\nimport { HubError } from "../../platform/errors";\nimport { openapi } from "../../contracts";`,
  "adapters/emergency/sandbox/zz-right.ts": `import { serve } from "../../../sandbox-kit/server";\nimport { startSandbox } from "./server";`,
  "agencies/public-security/sandbox/zz-right.ts": `import { reviewDesk } from "../../../sandbox-kit/reviews";\nimport { policeRuling } from "./ruling";`,
  "gateway/zz-right.ts": `import "../partners/registry";\nimport "../audit/log";\nimport "../platform/config";`,
  "workflows/zz-right.ts": `import { eidIssuance } from "./linkages";\nimport "../audit/log";`,
  "hub/zz-right.ts": `import "../adapters/utilities/service";\nimport "../gateway/service";`,
};

const result = checkImports(ROOT, { ...Object.fromEntries(WRONG.map((w) => [w.file, w.source])), ...RIGHT });
const reported = (file: string) => result.violations.filter((v) => v.startsWith(`${file}:`));

for (const wrong of WRONG)
  test(`the import check refuses ${wrong.rule}`, () => {
    assert.deepEqual(reported(wrong.file), [wrong.says]);
  });

test("the import check accepts what the map allows: own files, listed parts, import type from activities", () => {
  for (const file of Object.keys(RIGHT)) assert.deepEqual(reported(file), [], file);
  assert.ok(result.imports.some((i) => i.file === "workflows/linkages/zz-right.ts" && i.typeOnly && i.target === "workflows/activities/announcements.ts"));
});

test("the hub's own imports point one way", () => {
  const { violations, imports, files } = checkImports(ROOT);
  assert.ok(files > 100 && imports.length > 500, `read ${imports.length} imports in ${files} files`);
  assert.deepEqual(violations, []);
});
