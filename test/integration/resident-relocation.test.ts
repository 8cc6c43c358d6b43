/**
 * Resident relocation on the real stack: a household address change at the civil registry
 * (over NATS, as an internal service would ask it) starts the linkage through the
 * `civil-registry.household.address-changed` event; the utilities sandbox shows the transfers.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import { callerBroker, clusterEnv, post, seedCitizens, startNode, type TestNode } from "../support/hub";
import { nameBasedUuid } from "../../platform/ids";
import type { components } from "../../contracts/generated/types";

type Linkage = components["schemas"]["Linkage"];
type Address = components["schemas"]["Address"];
interface Person {
  citizenNo: string;
  fullName: string;
  address: Address;
}

const utilities = process.env.UTILITIES_URL!;
const run = Date.now().toString(36).toUpperCase();
const nodes: TestNode[] = [];
let broker: ServiceBroker;

before(async () => {
  const env = clusterEnv();
  nodes.push(await startNode("civil-registry,utilities", env), await startNode("linkages,worker", env));
  broker = await callerBroker(env.HUB_NAMESPACE!, ["civil-registry", "linkages"]);
});
after(async () => {
  await broker?.stop();
  for (const n of nodes.reverse()) await n.stop();
});

/** A citizen holding gas, power and water at a street of this run's own. */
async function holderAt(tag: string): Promise<{ holder: Person; address: Address }> {
  const [holder] = (await seedCitizens(1)) as unknown as Person[];
  const address = { ...holder!.address, street: `迁居路${run}${tag}号` };
  const res = await post(`${utilities}/_sandbox/accounts`, { holders: [{ idNumber: holder!.citizenNo, name: holder!.fullName, address }] });
  assert.equal(res.status, 201, await res.clone().text());
  return { holder: holder!, address };
}

async function accountsAt(address: Address): Promise<{ acct_no: string; svc_code: string; holder_id: string }[]> {
  const res = await fetch(`${utilities}/utility/v1/accounts?${new URLSearchParams({ post_code: address.postcode, street: address.street })}`);
  return ((await res.json()) as { acct_list: { acct_no: string; svc_code: string; holder_id: string }[] }).acct_list;
}
const holdersAt = async (address: Address) => Object.fromEntries((await accountsAt(address)).map((a) => [a.svc_code, a.holder_id]));

async function move(people: Person[], address: Address): Promise<string> {
  const change = await broker.call<{ changeNo: string }, object>("civil-registry.household.change-address", {
    idNumbers: people.map((p) => p.citizenNo),
    address,
    idempotencyKey: randomUUID(),
  });
  return change.changeNo;
}

async function settled(changeNo: string): Promise<Linkage> {
  const id = nameBasedUuid(`resident-relocation:${changeNo}`);
  for (let i = 0; i < 300; i++) {
    const linkage = await broker.call<Linkage, object>("linkages.status.get", { id }).catch(() => undefined);
    if (linkage && linkage.status !== "RUNNING") return linkage;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`relocation of ${changeNo} did not end`);
}

test("a household moves in: the accounts at the new address pass to its first resident", async () => {
  const { holder, address } = await holderAt("A");
  const household = (await seedCitizens(2)) as unknown as Person[];
  const done = await settled(await move(household, address));
  assert.equal(done.status, "COMPLETED", JSON.stringify(done));
  assert.equal(done.type, "resident-relocation");
  assert.deepEqual(done.stepsDone, ["read-change", "find-accounts", "transfer-gas", "transfer-power", "transfer-water"]);
  const result = done.result as { newHolder: { idNumber: string }; transferred: string[] };
  assert.equal(result.newHolder.idNumber, household[0]!.citizenNo);
  assert.equal(result.transferred.length, 3);
  assert.deepEqual(await holdersAt(address), { G: household[0]!.citizenNo, E: household[0]!.citizenNo, W: household[0]!.citizenNo });
  assert.notEqual(holder.citizenNo, household[0]!.citizenNo);
});

test("a transfer refused halfway: the accounts already transferred go back to their holder", async () => {
  const { holder, address } = await holderAt("B");
  // The water account is suspended, and a suspended account cannot change holder.
  const water = (await accountsAt(address)).find((a) => a.svc_code === "W")!;
  const suspended = await post(
    `${utilities}/utility/v1/suspensions`,
    { acct_no: water.acct_no, svc_code: "W", reason_txt: "meter inspection" },
    { "idempotency-key": randomUUID() },
  );
  assert.equal(suspended.status, 201, await suspended.clone().text());

  const [mover] = (await seedCitizens(1)) as unknown as Person[];
  const done = await settled(await move([mover!], address));
  assert.equal(done.status, "REFUSED", JSON.stringify(done));
  assert.match(String(done.reason), /refused to transfer the water account .*suspended/);
  assert.deepEqual(done.stepsDone, ["read-change", "find-accounts", "transfer-gas", "transfer-power"]);
  assert.deepEqual(await holdersAt(address), { G: holder.citizenNo, E: holder.citizenNo, W: holder.citizenNo }, "every account with its holder as before");
});

test("an address with no utility accounts: nothing to transfer, completed", async () => {
  const [mover] = (await seedCitizens(1)) as unknown as Person[];
  const done = await settled(await move([mover!], { ...mover!.address, street: `空地路${run}号` }));
  assert.equal(done.status, "COMPLETED", JSON.stringify(done));
  assert.deepEqual((done.result as { transferred: string[] }).transferred, []);
});
