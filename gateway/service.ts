/**
 * The REST face (moleculer-web). Routes come from the contract: each operationId is the action
 * that serves it, or one of the gateway's own operations (own-operations.ts). What happens to a
 * request, step by step, is pipeline.ts. The same operations answer over NATS as the service
 * `linkage-hub` (nats-service.ts), started and stopped with this one.
 */
import type { ServerResponse } from "node:http";
import ApiGateway, { type ApiSettingsSchema } from "moleculer-web";
import type { ServiceSchema } from "moleculer";
import type { Service } from "nats";
import type { AuditLog } from "../audit/log";
import type { HubNode } from "../platform/hub-node";
import { logsAt } from "../platform/log-level";
import { ensureKeys } from "../partners/keys";
import { sweepQuotaWindows } from "../partners/quota";
import { accessCheck } from "./access";
import type { PartnerAccess } from "../partners/access";
import type { Mediator } from "../catalogue/mediation";
import type { LiveCatalogue } from "../catalogue/live";
import { idempotency } from "./idempotency";
import { OPERATIONS } from "./operations";
import { ownOperations, type Handler } from "./own-operations";
import { admit, answerAsDocumented, fail, identify, measure, readParams, refuseOtherMethods, type Gateway, type Req } from "./pipeline";
import { mediate } from "./mediated";
import { codecServer } from "./codec-server";
import { startNatsService } from "./nats-service";

/** moleculer-web aliases: `METHOD /path` → the action, or a handler for the gateway's own operations. */
function aliasesOf(own: Record<string, Handler>, onError: ReturnType<typeof fail>): Record<string, string | ((req: Req, res: ServerResponse) => void)> {
  const aliases: Record<string, string | ((req: Req, res: ServerResponse) => void)> = {};
  for (const { op, alias } of OPERATIONS) {
    const id = op.operationId;
    if (!id.startsWith("api.")) {
      aliases[alias] = id;
      continue;
    }
    const handler = own[id];
    if (!handler) throw new Error(`the contract names ${id}, which the gateway does not implement`);
    aliases[alias] = (req, res) => void handler(req, res).catch((err) => onError(req, res, err));
  }
  return aliases;
}

/** Expired quota windows, swept every ten minutes by each gateway (idempotent answers are the retention jobs', hub/retention.ts). */
async function sweep(node: HubNode): Promise<void> {
  await sweepQuotaWindows(node.db);
}

export function gatewayService(
  node: HubNode,
  { audit, partners, mediation, catalogue }: { audit: AuditLog; partners: PartnerAccess; mediation: Mediator; catalogue: LiveCatalogue },
): ServiceSchema<ApiSettingsSchema> {
  const rightsOf = (client: string, service: string) => catalogue.rightsOf(client, service);
  const gw: Gateway = {
    node,
    authorize: accessCheck(partners, audit, rightsOf, node.config.instance),
    claimOnce: idempotency(node, audit),
    mediation,
  };
  let sweeper: NodeJS.Timeout | undefined;
  let natsService: Service | undefined;
  const debugLines = logsAt(node.broker, "debug");
  return {
    name: "api",
    mixins: [ApiGateway],
    async started() {
      await ensureKeys(node.db);
      sweeper = setInterval(() => void sweep(node).catch(() => {}), 600_000).unref();
      natsService = await startNatsService(gw);
    },
    async stopped() {
      clearInterval(sweeper);
      await natsService?.stop();
    },
    settings: {
      port: node.config.port,
      ip: node.config.host,
      // moleculer-web calls a function here before routing; its typings know only the object form.
      rootCallOptions: identify as unknown as ApiSettingsSchema["rootCallOptions"],
      use: [measure(gw), refuseOtherMethods(gw), admit(gw), mediate(gw), codecServer(gw, audit)],
      routes: [
        {
          path: "",
          mappingPolicy: "restrict",
          autoAliases: false,
          bodyParsers: false,
          mergeParams: true,
          aliases: aliasesOf(ownOperations(node), fail(gw)),
          onBeforeCall: readParams,
          onAfterCall: answerAsDocumented,
        },
      ],
      onError: fail(gw),
      // moleculer-web's own request lines (debug) are built only when debug lines are written.
      logRequest: debugLines ? "debug" : null,
      logResponse: debugLines ? "debug" : null,
      logRequestParams: null,
      logResponseData: null,
      log4XXResponses: false,
    },
  };
}
