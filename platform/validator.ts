/**
 * Moleculer validator: params that name a contract schema are checked by Ajv, so a caller
 * over NATS meets the same rules and the same errors as one over REST. Moleculer's own
 * internal actions keep their fastest-validator params.
 */
import { Validators, type Context, type ServiceBroker } from "moleculer";
import { ajv, isContractSchema, violations, type JsonSchema } from "../contracts";
import { HubError } from "./errors";

type Checker = (params: object) => true | object[];

export class ContractValidator extends Validators.Fastest {
  override compile(schema: Record<string, unknown>): Validators.Base.CheckerFunction {
    if (!isContractSchema(schema)) return super.compile(schema);
    const validate = ajv.getSchema((schema as JsonSchema).$ref as string)!;
    return ((params: object) => (validate(params) ? true : violations("params", validate.errors))) as never;
  }

  override middleware(_broker: ServiceBroker) {
    const check = (schema: unknown, name: string) => {
      const checker = this.compile(schema as Record<string, unknown>) as unknown as Checker;
      return (params: unknown) => {
        const result = checker((params ?? {}) as object);
        if (result !== true) throw new HubError("HUB_ERR_REQUEST_INVALID", `Params of ${name} do not match its contract`, { errors: result });
      };
    };
    return {
      name: "ContractValidator",
      localAction(handler: (ctx: Context) => unknown, action: { name: string; params?: unknown }) {
        if (!action.params || typeof action.params !== "object") return handler;
        const validate = check(action.params, action.name);
        return async (ctx: Context) => {
          validate(ctx.params);
          return handler(ctx);
        };
      },
    } as never;
  }
}
