import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ServiceBroker } from "moleculer";
import { ajv, contractSchema, compileOpenApiSchema } from "../../contracts";
import { checkedInProcess, ContractValidator } from "../../platform/validator";

const PARAMS = contractSchema("IdentityVerificationRequest");
const broker = new ServiceBroker({ logger: false, validator: new ContractValidator() });
const invalid = () => ({ idNumber: "not-an-id-number" });

before(async () => {
  broker.createService({ name: "people", actions: { verify: { params: PARAMS, handler: () => ({ match: true }) } } });
  await broker.start();
});
after(() => broker.stop());

const refused = (p: Promise<unknown>) => assert.rejects(p, { type: "HUB_ERR_REQUEST_INVALID" });

test("the action checks its params: unmarked, or with any meta a caller sends", async () => {
  await refused(broker.call("people.verify", invalid()));
  await refused(broker.call("people.verify", invalid(), { meta: { operationId: "people.verify", partner: "p", requestHash: "h", validated: true } }));
});

test("params this process marked as checked by the action's own contract schema are not checked again", async () => {
  // The gateway's body check for a bare schema ref is the action's very check.
  const gatewayCheck = compileOpenApiSchema({ $ref: "#/components/schemas/IdentityVerificationRequest" });
  assert.equal(gatewayCheck, ajv.getSchema(PARAMS.$ref as string));
  // An invalid object marked shows the skip (the gateway marks only what passed).
  const marked = invalid();
  checkedInProcess(marked, gatewayCheck);
  assert.deepEqual(await broker.call("people.verify", marked), { match: true });
});

test("a mark by another schema, or on another object with the same content, does not skip the check", async () => {
  const other = invalid();
  checkedInProcess(other, compileOpenApiSchema({ $ref: "#/components/schemas/MaritalStatusParams" }));
  await refused(broker.call("people.verify", other));
  const marked = invalid();
  checkedInProcess(marked, ajv.getSchema(PARAMS.$ref as string)!);
  await refused(broker.call("people.verify", { ...marked }));
});
