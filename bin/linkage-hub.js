#!/usr/bin/env node
// `npx linkage-hub ...`: the hub's command-line tools, run from their TypeScript sources.
require("tsx/cjs/api").register();
require("../ops/cli/main.ts");
