/**
 * The `partners` service: the partner registry over NATS, for the `linkage-hub partners`
 * CLI. It runs with the gateway, in the process that owns the database, so the CLI works
 * against the embedded PGlite of `npm start` as well as against PostgreSQL.
 */
import type { Context, ServiceSchema } from "moleculer";
import { contractSchema } from "../../contracts";
import type { components } from "../../contracts/generated/types";
import type { HubNode } from "../node";
import { addPartner, disablePartner, getPartner, listPartners, rotateSecret } from "./registry";

type Schemas = components["schemas"];

export function partnersService(node: HubNode): ServiceSchema {
  const { db } = node;
  return {
    name: "partners",
    actions: {
      add: {
        params: contractSchema("PartnerParams"),
        result: contractSchema("PartnerCredentials"),
        async handler(ctx: Context<Schemas["PartnerParams"]>): Promise<Schemas["PartnerCredentials"]> {
          const { clientSecret, ...fields } = ctx.params;
          const made = await addPartner(db, fields, clientSecret);
          return { partner: made.partner, clientId: made.partner.id, clientSecret: made.clientSecret, webhookSecret: made.webhookSecret };
        },
      },
      list: {
        result: contractSchema("PartnerList"),
        handler: async (): Promise<Schemas["PartnerList"]> => ({ partners: await listPartners(db) }),
      },
      show: {
        params: contractSchema("PartnerRef"),
        result: contractSchema("Partner"),
        handler: (ctx: Context<Schemas["PartnerRef"]>) => getPartner(db, ctx.params.id),
      },
      rotateSecret: {
        params: contractSchema("PartnerRef"),
        result: contractSchema("PartnerCredentials"),
        async handler(ctx: Context<Schemas["PartnerRef"]>): Promise<Schemas["PartnerCredentials"]> {
          const secret = await rotateSecret(db, ctx.params.id, ctx.params.graceS ?? 0);
          return { partner: await getPartner(db, ctx.params.id), clientId: ctx.params.id, clientSecret: secret };
        },
      },
      disable: {
        params: contractSchema("PartnerRef"),
        result: contractSchema("Partner"),
        handler: (ctx: Context<Schemas["PartnerRef"]>) => disablePartner(db, ctx.params.id),
      },
    },
  };
}
