/**
 * CAP alerts made from the emergency adapter's fixtures (adapters/emergency/fixtures), with an
 * identifier, event and premise of the caller's own: what tests and the chaos workload report
 * through `POST /v1/incidents`.
 */
import fs from "node:fs";
import path from "node:path";

/** The sender of every fixture alert. */
export const FIXTURE_SENDER = "dispatch@fire.shanghai.example";
/** The identifier the fixtures' first alert has (their updates and cancels reference it). */
const FIXTURE_IDENTIFIER = /FD-SH-2026-001187/g;

/** A supply address, as the utilities sandbox finds accounts: street and post code. */
export interface Premise {
  street: string;
  postcode: string;
}

/**
 * The fixture `file` as the alert `identifier` (its references follow), for an incident of kind
 * `event`, at `where`; with `where` null, at no address (no street, post code or geocodes).
 */
export function fixtureAlert(file: string, identifier: string, where: Premise | null, event = "Gas leak"): string {
  let xml = fs
    // The fixtures' XML files (not their README) are copied beside the compiled code by `npm run build`.
    .readFileSync(path.join(__dirname, "../../adapters/emergency/fixtures", file), "utf8")
    .replace(FIXTURE_IDENTIFIER, identifier)
    .replace(/<event>Gas leak<\/event>/g, `<event>${event}</event>`);
  if (where) xml = xml.replace(/漕溪北路 88 号(?=<\/value>)/g, where.street).replace(/<value>200030<\/value>/g, `<value>${where.postcode}</value>`);
  else xml = xml.replace(/<parameter>[\s\S]*?<\/parameter>/g, "").replace(/<geocode>[\s\S]*?<\/geocode>/g, "");
  return xml;
}
