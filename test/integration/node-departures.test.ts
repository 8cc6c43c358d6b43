/**
 * A node killed without a goodbye leaves the gateway's balancing as soon as NATS reports its
 * connection closed (platform/nats-departures.ts), not when its heartbeats are missed: the
 * identity verifications after that all go to the node that is left.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { killHard, waitFor } from "../../ops/stack/processes";
import { clusterEnv, post, seedCitizens, startNode, type TestNode } from "../support/hub";

const nodes: TestNode[] = [];
let api: TestNode;
let doomed: TestNode;

before(async () => {
  const env = clusterEnv();
  doomed = await startNode("civil-registry", env);
  nodes.push(doomed, await startNode("civil-registry", env));
  api = await startNode("api", env);
  nodes.push(api);
});
after(async () => {
  for (const n of nodes.reverse()) await n.stop();
});

test("a killed adapter node is out of the gateway's balancing once NATS reports it gone", async () => {
  const [citizen] = await seedCitizens(1);
  const verify = () =>
    post(`${api.url}/v1/identity-verifications`, { idNumber: citizen!.citizenNo, name: citizen!.fullName }, { "data-purpose": "identity-verification" });
  assert.equal((await verify()).status, 200);
  await killHard(doomed.service);
  const log = () => fs.readFileSync(api.service.logFile!, "utf8");
  // Well before Moleculer's own verdict (a node silent for 6 s, checked every 6 s).
  await waitFor("the gateway's departure line", async () => log().includes("taken out of balancing"), 5000);
  assert.match(log(), /"node":"civil-registry-\d+"/);
  const statuses = [];
  for (let i = 0; i < 10; i++) statuses.push((await verify()).status);
  assert.deepEqual(statuses, Array(10).fill(200), "every call goes to the node that is left");
});
