/**
 * The `operators` service: the operators of the codec server over NATS, for the `linkage-hub
 * operators` CLI. It runs with the gateway, in the process that owns the database, so the CLI
 * works against the embedded PGlite of `npm start` as well as against PostgreSQL. Internal
 * tooling, contracted like the partners' registry (contracts/schemas/Operator*.json).
 */
import type { Context, ServiceSchema } from "moleculer";
import { actionContract } from "../contracts";
import type { components } from "../contracts/generated/types";
import type { HubNode } from "../platform/hub-node";
import { addOperator, listOperators, removeOperator } from "./registry";

type Ref = components["schemas"]["OperatorRef"];

export function operatorsService(node: HubNode): ServiceSchema {
  const { db } = node;
  return {
    name: "operators",
    actions: {
      add: { ...actionContract("OperatorRef", "OperatorCredentials"), handler: (ctx: Context<Ref>) => addOperator(db, ctx.params.name) },
      list: { ...actionContract(undefined, "OperatorList"), handler: async () => ({ operators: await listOperators(db) }) },
      remove: { ...actionContract("OperatorRef", "Operator"), handler: (ctx: Context<Ref>) => removeOperator(db, ctx.params.name) },
    },
  };
}
