/**
 * The `partners` service: the partner registry over NATS, for the `linkage-hub partners`
 * and `webhooks` CLI, and the delivery of partners' webhooks. It runs with the gateway, in
 * the process that owns the database, so the CLI works against the embedded PGlite of
 * `npm start` as well as against PostgreSQL.
 */
import type { Context, ServiceSchema } from "moleculer";
import { actionContract } from "../contracts";
import type { components } from "../contracts/generated/types";
import { announced } from "../platform/access-changes";
import type { HubNode } from "../platform/hub-node";
import { HubError } from "../platform/errors";
import type { RunningConsumer } from "../platform/events/consumer";
import { addPartner, disablePartner, getPartner, listPartners, rotateSecret } from "./registry";
import { listDeliveries, replayDelivery, startWebhooks } from "./webhooks";
import { rotateKeys } from "./keys";

type Schemas = components["schemas"];

export function partnersService(node: HubNode): ServiceSchema {
  const { db } = node;
  let webhooks: RunningConsumer | undefined;
  return {
    name: "partners",
    async started() {
      const log = this.logger;
      webhooks = await startWebhooks(db, node.bus, node.config.webhookBackoffMs, (err) => log.warn({ err: String(err) }, "webhook delivery"));
    },
    async stopped() {
      await webhooks?.stop();
    },
    actions: {
      deliveries: {
        ...actionContract("WebhookDeliveryQuery", "WebhookDeliveryList"),
        handler: async (ctx: Context<Schemas["WebhookDeliveryQuery"]>): Promise<Schemas["WebhookDeliveryList"]> => ({
          deliveries: await listDeliveries(db, ctx.params),
        }),
      },
      redeliver: {
        ...actionContract("WebhookDeliveryQuery", "WebhookDeliveryList"),
        async handler(ctx: Context<Schemas["WebhookDeliveryQuery"]>): Promise<Schemas["WebhookDeliveryList"]> {
          const { eventId } = ctx.params;
          if (!eventId) throw new HubError("HUB_ERR_REQUEST_INVALID", "eventId names the delivery to send again");
          await replayDelivery(db, node.bus, eventId);
          return { deliveries: await listDeliveries(db, { eventId }) };
        },
      },
      add: {
        ...actionContract("PartnerParams", "PartnerCredentials"),
        handler(ctx: Context<Schemas["PartnerParams"]>): Promise<Schemas["PartnerCredentials"]> {
          const { clientSecret, ...fields } = ctx.params;
          return announced(ctx, addPartner(db, fields, clientSecret));
        },
      },
      list: {
        ...actionContract(undefined, "PartnerList"),
        handler: async (): Promise<Schemas["PartnerList"]> => ({ partners: await listPartners(db) }),
      },
      show: {
        ...actionContract("PartnerRef", "Partner"),
        handler: (ctx: Context<Schemas["PartnerRef"]>) => getPartner(db, ctx.params.id),
      },
      rotateSecret: {
        ...actionContract("PartnerRef", "PartnerCredentials"),
        handler: (ctx: Context<Schemas["PartnerRef"]>) => rotateSecret(db, ctx.params.id, ctx.params.graceS ?? 0),
      },
      rotateKeys: {
        ...actionContract(undefined, "KeyRotation"),
        handler: () => rotateKeys(db),
      },
      disable: {
        ...actionContract("PartnerRef", "Partner"),
        handler: (ctx: Context<Schemas["PartnerRef"]>) => announced(ctx, disablePartner(db, ctx.params.id)),
      },
    },
  };
}
