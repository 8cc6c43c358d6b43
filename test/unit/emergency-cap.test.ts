/**
 * CAP 1.2 between XML and the contract's JSON form: the real OASIS samples and our gas-leak
 * incident round-trip without loss, and malformed XML or CAP is refused with every problem
 * named by a pointer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { operations } from "../../contracts";
import { buildCap, CapError, parseCap } from "../../adapters/emergency/cap";
import { addressOf, closingStatus, firstAlertOf, stateOf } from "../../adapters/emergency/mapping";

const DIR = path.join(__dirname, "../../adapters/emergency/fixtures");
const FIXTURES = fs.readdirSync(DIR).filter((f) => f.endsWith(".xml"));
const fixture = (name: string) => fs.readFileSync(path.join(DIR, name), "utf8");

function problems(xml: string): { pointer: string; detail: string }[] {
  try {
    parseCap(xml);
  } catch (err) {
    assert.ok(err instanceof CapError, String(err));
    return err.problems;
  }
  assert.fail("accepted");
}

test("the fixtures: four OASIS samples and the gas-leak alert, update and cancel", () => {
  assert.deepEqual(FIXTURES.sort(), [
    "gas-leak-alert.xml",
    "gas-leak-cancel.xml",
    "gas-leak-update.xml",
    "oasis-amber-alert.xml",
    "oasis-earthquake.xml",
    "oasis-homeland-security.xml",
    "oasis-thunderstorm.xml",
  ]);
});

for (const name of FIXTURES)
  test(`${name}: XML → JSON → XML → JSON is equal on every field the contract carries`, () => {
    const xml = fixture(name);
    const json = parseCap(xml);
    const again = parseCap(buildCap(json));
    assert.deepEqual(again, json);
    // Spot checks against the file itself, so the parse is not merely self-consistent.
    assert.equal(json.identifier, /<identifier>([^<]+)<\/identifier>/.exec(xml)![1]);
    assert.equal(json.info.length, xml.split("<info>").length - 1);
    const categories = [...xml.matchAll(/<category>([^<]+)<\/category>/g)].map((m) => m[1]);
    assert.deepEqual(
      json.info.flatMap((i) => i.category),
      categories,
    );
  });

test("the OASIS samples' details survive: references, polygon, circle, geocodes, parameters, two languages", () => {
  const quake = parseCap(fixture("oasis-earthquake.xml"));
  assert.deepEqual(quake.references, [{ sender: "trinet@caltech.edu", identifier: "TRI13970876.1", sent: "2003-06-11T20:30:00-07:00" }]);
  assert.deepEqual(quake.info[0]!.area![0]!.circle, ["32.9525,-115.5527 0"]);
  assert.equal(quake.info[0]!.parameter!.length, 5);
  const storm = parseCap(fixture("oasis-thunderstorm.xml"));
  assert.deepEqual(
    storm.info[0]!.area![0]!.geocode!.map((g) => g.value),
    ["006109", "006009", "006003"],
  );
  assert.equal(storm.info[0]!.area![0]!.polygon![0], "38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14");
  assert.deepEqual(storm.info[0]!.eventCode, [{ valueName: "SAME", value: "SVR" }]);
  const amber = parseCap(fixture("oasis-amber-alert.xml"));
  assert.deepEqual(
    amber.info.map((i) => i.language),
    ["en-US", "es-US"],
  );
  assert.equal(amber.info[1]!.event, "Abducción de Niño");
  assert.equal(amber.source, "SW");
});

test("the gas leak: its address, its incident key, and how the update and cancel end it", () => {
  const alert = parseCap(fixture("gas-leak-alert.xml"));
  assert.deepEqual(addressOf(alert), { street: "漕溪北路 88 号", province: "上海市", city: "上海市", district: "徐汇区", postcode: "200030" });
  assert.deepEqual(stateOf(alert), {
    event: "Gas leak",
    category: "Fire",
    severity: "Severe",
    urgency: "Immediate",
    certainty: "Observed",
    headline: "燃气泄漏：漕溪北路 88 号",
    areaDesc: "漕溪北路 88 号及周边 100 米",
    address: addressOf(alert),
  });
  const update = parseCap(fixture("gas-leak-update.xml"));
  const cancel = parseCap(fixture("gas-leak-cancel.xml"));
  for (const a of [alert, update, cancel]) assert.deepEqual(firstAlertOf(a), { sender: "dispatch@fire.shanghai.example", identifier: "FD-SH-2026-001187" });
  assert.equal(closingStatus(alert), undefined);
  assert.equal(closingStatus(update), undefined);
  assert.equal(closingStatus(cancel), "CANCELLED");
});

test("malformed XML is refused with where it breaks", () => {
  assert.match(problems("<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>x</alert>")[0]!.detail, /not well-formed.*line 1/);
  assert.match(problems("")[0]!.detail, /root element|not well-formed/);
  assert.match(problems("not xml at all")[0]!.detail, /not well-formed|root element/);
  assert.match(problems('<!DOCTYPE a [<!ENTITY x "y">]><alert/>')[0]!.detail, /DOCTYPE/);
});

test("XML that is not CAP 1.2 is refused, naming each problem", () => {
  assert.match(problems("<feed/>")[0]!.detail, /root element must be a CAP <alert>/);
  assert.match(
    problems('<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"/>')[0]!.detail,
    /namespace urn:oasis:names:tc:emergency:cap:1.2, not urn:oasis:names:tc:emergency:cap:1.1/,
  );
  assert.match(problems("<alert/>")[0]!.detail, /namespace/);

  const gas = fixture("gas-leak-alert.xml");
  const broken = gas
    .replace("<status>Actual</status>", "<status>Real</status>")
    .replace("<sent>2026-11-28T09:12:00+08:00</sent>", "<sent>2026-11-28T09:12:00Z</sent>")
    .replace("<urgency>Immediate</urgency>", "")
    .replace("<scope>Public</scope>", "<scope>Public</scope><references>only-two,parts</references>")
    .replace("<areaDesc>", "<bogus>x</bogus><areaDesc>");
  assert.deepEqual(
    problems(broken).map((p) => p.pointer),
    ["/references/0", "/info/0/area/0/bogus"],
    "structure first",
  );
  const p = problems(broken.replace("<references>only-two,parts</references>", "").replace("<bogus>x</bogus>", ""));
  assert.deepEqual(p.map((x) => x.pointer).sort(), ["/info/0/urgency", "/sent", "/status"]);
  assert.ok(p.every((x) => x.detail.length > 0));
  assert.deepEqual(problems(gas.replace("</identifier>", "</identifier><identifier>again</identifier>")), [
    { pointer: "/identifier", detail: "may appear only once" },
  ]);
  // A prefixed CAP document is CAP; an element of another namespace is not carried.
  const prefixed = gas
    .replace('<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">', '<cap:alert xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2" xmlns:x="urn:other">')
    .replace(/<(\/?)(?!\?)([a-zA-Z])/g, "<$1cap:$2")
    .replace("<cap:cap:alert", "<cap:alert")
    .replace("</cap:cap:alert", "</cap:alert");
  assert.deepEqual(parseCap(prefixed), parseCap(gas));
});

test("the contract's report examples say the same thing in JSON, CAP XML and application/xml", () => {
  const content = operations().find((o) => o.operationId === "emergency.incident.report")!.requestBody!.content as unknown as Record<
    string,
    { examples: Record<string, { value: unknown }> }
  >;
  const json = content["application/json"]!.examples.gasLeak!.value;
  assert.deepEqual(parseCap(content["application/cap+xml"]!.examples.gasLeak!.value as string), json);
  assert.deepEqual(parseCap(content["application/xml"]!.examples.gasLeak!.value as string), json);
});
