/**
 * The `operators` service: the operators of the codec server over NATS, for the `linkage-hub
 * operators` CLI. It runs with the gateway, in the process that owns the database, so the CLI
 * works against the embedded PGlite of `npm start` as well as against PostgreSQL. Internal
 * tooling, not part of the partners' contract: its params are checked by Moleculer's validator.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { HubNode } from "../platform/hub-node";
import { addOperator, listOperators, removeOperator } from "./registry";

const NAME = { name: { type: "string", min: 1, max: 64 } };

export function operatorsService(node: HubNode): ServiceSchema {
  const { db } = node;
  return {
    name: "operators",
    actions: {
      add: { params: NAME, handler: (ctx: Context<{ name: string }>) => addOperator(db, ctx.params.name) },
      list: { handler: async () => ({ operators: await listOperators(db) }) },
      remove: { params: NAME, handler: (ctx: Context<{ name: string }>) => removeOperator(db, ctx.params.name) },
    },
  };
}
