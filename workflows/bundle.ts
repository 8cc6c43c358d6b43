/**
 * The workflow code the worker runs. `npm run build` bundles it once into dist/ (Temporal's
 * bundleWorkflowCode, run from the compiled dist/workflows/bundle.js), beside the compiled
 * worker, so a production worker starts without webpack; run from the TypeScript sources there
 * is no bundle beside this file, and the worker bundles `workflowsPath` at start-up as before.
 */
import fs from "node:fs";
import path from "node:path";
import type { DataConverter } from "@temporalio/common";
import type { WorkerOptions } from "@temporalio/worker";

export const BUNDLE_FILE = path.join(__dirname, "workflow-bundle.js");
const WORKFLOWS_PATH = require.resolve("./linkages/index");
/** What the bundle carries besides the workflows: the failure converter of the hub's data converter (platform/payload-codec.ts). */
const CONVERTERS = { failureConverterPath: require.resolve("../platform/failure-converter"), payloadConverterPath: undefined };

/** Writes the bundle to BUNDLE_FILE; returns its size in bytes. */
export async function writeWorkflowBundle(): Promise<number> {
  const { bundleWorkflowCode } = await import("@temporalio/worker");
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...CONVERTERS });
  fs.writeFileSync(BUNDLE_FILE, code);
  return Buffer.byteLength(code);
}

/**
 * The worker's workflow code: the prebuilt bundle when there is one, else the sources. A bundle
 * holds the converters it was made with (the worker cannot swap them), so a data converter
 * naming others is refused rather than run with the bundle's.
 */
export function workflowCode(dataConverter: DataConverter): Pick<WorkerOptions, "workflowBundle" | "workflowsPath"> {
  if (!fs.existsSync(BUNDLE_FILE)) return { workflowsPath: WORKFLOWS_PATH };
  for (const [key, bundled] of Object.entries(CONVERTERS))
    if (dataConverter[key as keyof typeof CONVERTERS] !== bundled)
      throw new Error(`${BUNDLE_FILE} was bundled with ${key} ${bundled}, the worker's data converter names ${dataConverter[key as keyof typeof CONVERTERS]}`);
  return { workflowBundle: { codePath: BUNDLE_FILE } };
}
