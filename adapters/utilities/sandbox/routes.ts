/** The utility's routes: accounts looked up by address, suspension, restoration and transfer orders, an order read by its number. */
import type { Db } from "../../../platform/db";
import type { Request, Route } from "../../../sandbox-kit/server";
import { idempotencyKeyOf, readLookup, readServiceChange, readTransfer } from "./format";
import { findOrder, lookup, placeOrder } from "./store";

export function routes(db: Db): Route[] {
  const order = (type: "SUSPEND" | "RESTORE") => async (req: Request) => {
    const key = idempotencyKeyOf(req.headers);
    return placeOrder(db, key, readServiceChange(type, await req.json()));
  };
  const orderMalformed = [{ order_ref: 12, order_type: "SUSPEND" }, { order_ref: "SO0000000000000000", acct_results: "all" }, {}];
  return [
    {
      method: "GET",
      pattern: /^\/utility\/v1\/accounts$/,
      successStatus: 200,
      malformed: [{ rec_cnt: "one" }, { acct_list: [{ acct_no: 5 }], rec_cnt: 1 }, []],
      async handle({ query }) {
        const { postCode, street } = readLookup(query);
        return { status: 200, body: await lookup(db, postCode, street) };
      },
    },
    { method: "POST", pattern: /^\/utility\/v1\/suspensions$/, successStatus: 201, malformed: orderMalformed, handle: order("SUSPEND") },
    { method: "POST", pattern: /^\/utility\/v1\/restorations$/, successStatus: 201, malformed: orderMalformed, handle: order("RESTORE") },
    {
      method: "POST",
      pattern: /^\/utility\/v1\/transfers$/,
      successStatus: 201,
      malformed: orderMalformed,
      async handle(req) {
        const key = idempotencyKeyOf(req.headers);
        return placeOrder(db, key, readTransfer(await req.json()));
      },
    },
    {
      method: "GET",
      pattern: /^\/utility\/v1\/orders\/(SO[0-9A-F]{16})$/,
      successStatus: 200,
      malformed: orderMalformed,
      async handle(req) {
        return { status: 200, body: await findOrder(db, req.params[0]!) };
      },
    },
  ];
}
