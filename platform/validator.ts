/**
 * Moleculer validator: params that name a contract schema are checked by Ajv, so a caller
 * over NATS meets the same rules and the same errors as one over REST. Moleculer's own
 * internal actions keep their fastest-validator params. An action that declares a contract
 * `result` has its answer checked too: a service never hands on what its contract forbids.
 */
import type { ValidateFunction } from "ajv";
import { Validators, type ActionParams, type Context, type ServiceBroker } from "moleculer";
import client from "prom-client";
import { ajv, EVENT_TYPES, isContractSchema, violations, type JsonSchema } from "../contracts";
import { HubError } from "./errors";

/** Contract checks that failed, by action (or event type) and stage: params, result, publish, consume. */
export const contractFailures = new client.Counter({
  name: "hub_contract_validation_failures_total",
  help: "Contract checks that failed, by action or event type and stage (params, result: an action's; publish, consume: an event's)",
  labelNames: ["action", "stage"] as const,
});
for (const type of Object.keys(EVENT_TYPES)) for (const stage of ["publish", "consume"]) contractFailures.inc({ action: type, stage }, 0);

/** Counts an event that broke its contract; a type outside the catalogue counts as "unknown" (labels stay bounded). */
export const eventContractFailed = (type: unknown, stage: "publish" | "consume") =>
  contractFailures.inc({ action: typeof type === "string" && type in EVENT_TYPES ? type : "unknown", stage });

type Checker = (params: object) => true | object[];

/**
 * Params objects a component of this process has already checked with a contract validator,
 * and with which one. The gateway checks a REST body against the contract and hands that very
 * object to a local action (Moleculer passes a local call's params by reference), so the action
 * need not check it again. The mark lives in this process's memory only: params that arrive
 * over NATS are a new object, and nothing a caller sends (meta included) can set it.
 */
const checkedHere = new WeakMap<object, ValidateFunction>();

/** Marks `params` as checked by `validate`; call it only when nothing changes `params` before the action runs. */
export function checkedInProcess(params: object, validate: ValidateFunction): void {
  checkedHere.set(params, validate);
}

declare module "moleculer" {
  interface ActionSchema {
    /** The contract schema of the action's answer (contractSchema("...")). */
    result?: ActionParams;
    /** Moleculer's per-action call timeout (honoured at run time, missing from its typings). */
    timeout?: number;
  }
}

export class ContractValidator extends Validators.Fastest {
  override compile(schema: Record<string, unknown>): Validators.Base.CheckerFunction {
    if (!isContractSchema(schema)) return super.compile(schema);
    const validate = ajv.getSchema((schema as JsonSchema).$ref as string)!;
    return ((params: object) => (validate(params) ? true : violations("params", validate.errors))) as never;
  }

  override middleware(_broker: ServiceBroker) {
    const check = (schema: unknown, name: string) => {
      const checker = this.compile(schema as Record<string, unknown>) as unknown as Checker;
      // The compiled contract schema, when it is one: params marked as checked by it pass.
      const same = isContractSchema(schema) ? ajv.getSchema(schema.$ref as string) : undefined;
      contractFailures.inc({ action: name, stage: "params" }, 0);
      return (params: unknown) => {
        if (same && typeof params === "object" && params !== null && checkedHere.get(params) === same) return;
        const result = checker((params ?? {}) as object);
        if (result === true) return;
        contractFailures.inc({ action: name, stage: "params" });
        throw new HubError("HUB_ERR_REQUEST_INVALID", `Params of ${name} do not match its contract`, { errors: result });
      };
    };
    return {
      name: "ContractValidator",
      localAction(handler: (ctx: Context) => unknown, action: { name: string; params?: unknown; result?: unknown }) {
        const validateParams = action.params && typeof action.params === "object" ? check(action.params, action.name) : undefined;
        const validateResult = isContractSchema(action.result) ? ajv.getSchema(action.result.$ref as string)! : undefined;
        if (!validateParams && !validateResult) return handler;
        if (validateResult) contractFailures.inc({ action: action.name, stage: "result" }, 0);
        return async (ctx: Context) => {
          validateParams?.(ctx.params);
          const result = await handler(ctx);
          if (validateResult && !validateResult(result)) {
            contractFailures.inc({ action: action.name, stage: "result" });
            ctx.broker.logger.error({ action: action.name, errors: violations("params", validateResult.errors) }, "an action's result breaks its contract");
            throw new HubError("HUB_ERR_INTERNAL", `The result of ${action.name} does not match its contract`);
          }
          return result;
        };
      },
    } as never;
  }
}
