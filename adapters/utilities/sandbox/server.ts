/**
 * The utilities sandbox: plays the utility's own system in development and tests, in its
 * own JSON format (snake_case, service codes G/E/W, errors as `{err_code, err_msg}`), with
 * fault injection on every `/utility/...` request (the plumbing shared with the other
 * sandboxes: platform/sandbox/).
 *
 * Run it: node --import tsx adapters/utilities/sandbox/server.ts
 */
import path from "node:path";
import { ajv } from "../../../contracts";
import type { Db } from "../../../platform/db";
import { NO_FAULTS, type Faults } from "../../../sandbox-kit/faults";
import { runSandbox } from "../../../sandbox-kit/main";
import { prepareDb } from "../../../sandbox-kit/setup";
import { serve, type ListenOptions, type Request, type Route, type SeededSandbox } from "../../../sandbox-kit/server";
import { isServiceChangeRequest, isTransferRequest, type ServiceChangeRequest, type TransferRequest } from "../agency-format";
import { badRequest, idempotencyKeyOf, UTILITY } from "./http";
import { createAccounts, lookup, placeOrder, SCHEMA, seedIfEmpty, type Holder } from "./store";

export { NO_FAULTS, type Faults } from "../../../sandbox-kit/faults";

const rate = { type: "number", minimum: 0, maximum: 1 } as const;
const isFaults = ajv.compile<Partial<Faults>>({
  type: "object",
  properties: {
    latencyMs: { type: "integer", minimum: 0, maximum: 60_000 },
    errorRate: rate,
    timeoutRate: rate,
    outage: { type: "boolean" },
    malformedRate: rate,
    lostResponseRate: rate,
  },
  additionalProperties: false,
});

const addressPart = { type: "string", minLength: 1, maxLength: 100, pattern: "^[^\\u0000-\\u001f\\u007f,]+$" } as const;
const isHolders = ajv.compile<{ holders: Holder[] }>({
  type: "object",
  properties: {
    holders: {
      type: "array",
      minItems: 1,
      maxItems: 1000,
      items: {
        type: "object",
        properties: {
          idNumber: { type: "string", format: "resident-id" },
          name: { type: "string", minLength: 1, maxLength: 100, pattern: "^[^\\u0000-\\u001f\\u007f]+$" },
          address: {
            type: "object",
            properties: {
              province: addressPart,
              city: addressPart,
              district: addressPart,
              street: addressPart,
              postcode: { type: "string", pattern: "^[0-9]{6}$" },
            },
            required: ["province", "city", "district", "street", "postcode"],
            additionalProperties: false,
          },
        },
        required: ["idNumber", "name", "address"],
        additionalProperties: false,
      },
    },
  },
  required: ["holders"],
  additionalProperties: false,
});

/** 1 to `max` characters, none of them a control character. */
const isText = (s: string, max: number) => {
  const chars = [...s];
  return chars.length >= 1 && chars.length <= max && chars.every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f);
};

const problems = (errors: typeof isFaults.errors) => ajv.errorsText(errors, { dataVar: "body" });

function routes(db: Db): Route[] {
  const order = (type: "SUSPEND" | "RESTORE") => async (req: Request) => {
    const key = idempotencyKeyOf(req.headers);
    const body = await req.json();
    if (!isServiceChangeRequest(body)) throw badRequest(problems(isServiceChangeRequest.errors));
    const r: ServiceChangeRequest = body;
    return placeOrder(db, key, { type, premise: r.premise, acct_no: r.acct_no, svc_code: r.svc_code, reason_txt: r.reason_txt, incident_ref: r.incident_ref });
  };
  const orderMalformed = [{ order_ref: 12, order_type: "SUSPEND" }, { order_ref: "SO0000000000000000", acct_results: "all" }, {}];
  return [
    {
      method: "GET",
      pattern: /^\/utility\/v1\/accounts$/,
      successStatus: 200,
      malformed: [{ rec_cnt: "one" }, { acct_list: [{ acct_no: 5 }], rec_cnt: 1 }, []],
      async handle({ query }) {
        for (const name of query.keys()) if (name !== "post_code" && name !== "street") throw badRequest(`unknown parameter ${name}`);
        const postCode = query.getAll("post_code");
        const street = query.getAll("street");
        if (postCode.length !== 1 || !/^[0-9]{6}$/.test(postCode[0]!)) throw badRequest("post_code must be six digits, once");
        if (street.length !== 1 || !isText(street[0]!, 100)) throw badRequest("street must be 1 to 100 characters, once");
        return { status: 200, body: await lookup(db, postCode[0]!, street[0]!) };
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
        const body = await req.json();
        if (!isTransferRequest(body)) throw badRequest(problems(isTransferRequest.errors));
        const r: TransferRequest = body;
        return placeOrder(db, key, { type: "TRANSFER", premise: r.premise, acct_no: r.acct_no, new_holder: r.new_holder });
      },
    },
  ];
}

export async function startSandbox(
  opts: ListenOptions & {
    /** How many of the civil registry sandbox's seeded citizens get accounts (its default: 3000). */
    seedCount?: number;
  },
): Promise<SeededSandbox> {
  const { db } = opts;
  const { seeded, seedMs } = await prepareDb(db, SCHEMA, path.join(__dirname, "migrations"), () => seedIfEmpty(db, opts.seedCount ?? 3000));

  const server = await serve(opts, {
    name: "utilities",
    dialect: UTILITY,
    prefix: "/utility/",
    routes: routes(db),
    outageMessage: "the utility system is unavailable",
    // The utility words its refusals as JSON Schema problems.
    parseFaults: (body) => {
      if (!isFaults(body)) throw badRequest(problems(isFaults.errors));
      return { ...NO_FAULTS, ...body };
    },
    endpoints: {
      "POST /_sandbox/accounts": async (req) => {
        const body = await req.json();
        if (!isHolders(body)) throw badRequest(problems(isHolders.errors));
        return { status: 201, body: await createAccounts(db, body.holders) };
      },
    },
  });
  return { url: server.url, seeded, seedMs, close: server.close };
}

if (require.main === module)
  runSandbox({
    name: "utilities",
    urlSetting: "utilitiesUrl",
    start: startSandbox,
  });
