import { test } from "node:test";
import assert from "node:assert/strict";
import { servicesAtRisk } from "../../workflows/linkages/hazards";

test("a gas leak endangers the gas, an electrical fire the power, both words both", () => {
  assert.deepEqual(servicesAtRisk({ event: "Gas leak", category: "Fire" }), ["gas"]);
  assert.deepEqual(servicesAtRisk({ event: "燃气泄漏", category: "Safety" }), ["gas"]);
  assert.deepEqual(servicesAtRisk({ event: "Electrical fire", category: "Fire" }), ["power"]);
  assert.deepEqual(servicesAtRisk({ event: "电气火灾", category: "Fire" }), ["power"]);
  assert.deepEqual(servicesAtRisk({ event: "Gas explosion and electrical fire", category: "Fire" }), ["gas", "power"]);
});

test("other incidents, and weather, endanger no supply", () => {
  assert.deepEqual(servicesAtRisk({ event: "Flood", category: "Geo" }), []);
  assert.deepEqual(servicesAtRisk({ event: "Gasoline spill", category: "Env" }), []);
  assert.deepEqual(servicesAtRisk({ event: "Electrical storm", category: "Met" }), []);
});
