#!/usr/bin/env node
// `npx linkage-hub ...`: the hub's command-line tools (ops/cli/). In a checkout with its dev
// dependencies they run from their TypeScript sources through tsx, so they are always the
// code you see; in a production install (`npm ci --omit=dev`, no tsx) from the build,
// dist/ops/cli/main.js (`npm run build`).
const fs = require("node:fs");
const path = require("node:path");

const sources = path.join(__dirname, "../ops/cli/main.ts");
const built = path.join(__dirname, "../dist/ops/cli/main.js");
let tsx;
try {
  tsx = require.resolve("tsx/cjs/api");
} catch {
  tsx = undefined;
}
if (tsx && fs.existsSync(sources)) {
  require(tsx).register();
  require(sources);
} else if (fs.existsSync(built)) require(built);
else {
  console.error("linkage-hub: no build at dist/ops/cli/main.js (run `npm run build`) and no tsx to run the sources");
  process.exit(1);
}
