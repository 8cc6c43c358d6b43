/** Every hub process serves one /metrics with Moleculer's and prom-client's metrics. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { clusterEnv, startNode, type TestNode } from "../support/hub";

const nodes: TestNode[] = [];
before(async () => {
  const env = clusterEnv();
  nodes.push(await startNode("civil-registry", env), await startNode("api", env));
});
after(async () => {
  for (const n of nodes) await n.stop();
});

for (const [i, role] of ["adapter node (own metrics port)", "gateway node (REST port)"].entries())
  test(`${role}: one exposition with both registries, each metric declared once`, async () => {
    const res = await fetch(`${nodes[i]!.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^moleculer_broker_started\{.*\} 1$/m, "Moleculer's metrics");
    assert.match(text, /^process_cpu_user_seconds_total \d/m, "prom-client's default process metrics");
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
    const types = text
      .split("\n")
      .filter((l) => l.startsWith("# TYPE "))
      .map((l) => l.split(" ")[2]);
    assert.equal(new Set(types).size, types.length, "no metric declared twice");
  });

test("linkage series exist from start-up at zero; REST answers are counted per partner, operation and status class", async () => {
  const gateway = nodes[1]!;
  const before = await (await fetch(`${gateway.url}/metrics`)).text();
  assert.match(before, /^hub_linkages_started_total\{linkage_type="marriage-registration"\} 0$/m);
  assert.match(before, /^hub_linkages_ended_total\{linkage_type="incident-utilities",outcome="REFUSED"\} 0$/m);
  assert.match(before, /^hub_linkage_duration_seconds_count\{linkage_type="eid-issuance"\} 0$/m);
  await fetch(`${gateway.url}/v1/linkages?limit=1`);
  const after = await (await fetch(`${gateway.url}/metrics`)).text();
  assert.match(after, /^hub_http_requests_total\{partner="suite-partner",operation="linkages.list",status_class="[25]xx"\} [1-9]/m);
  assert.match(after, /^hub_http_request_duration_seconds_count\{partner="suite-partner",operation="linkages.list"\} [1-9]/m);
});
