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
    const types = text.split("\n").filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2]);
    assert.equal(new Set(types).size, types.length, "no metric declared twice");
  });
