/**
 * The `catalogue` service: the registry of providers' services and access rights (for the
 * `linkage-hub services` and `access` CLI over NATS, and the REST admin operations), the
 * GovStack directory, and `catalogue.call`, a mediated call for internal callers (and
 * `catalogue.linkageCall`, the same for a linkage's activity, made for the linkage's partner).
 * It runs with the gateway, which owns the database. A change is announced to every node
 * (`access.changed`), whose caches of services, rights and partners it clears.
 */
import type { Context, ServiceSchema } from "moleculer";
import { actionContract } from "../contracts";
import type { components } from "../contracts/generated/types";
import { metaOf } from "../platform/call-meta";
import { ACCESS_CHANGED, announced } from "../platform/access-changes";
import type { HubNode } from "../platform/hub-node";
import { HubError } from "../platform/errors";
import type { PartnerAccess } from "../partners/access";
import { getPartner } from "../partners/registry";
import { grantAccess, listGrants, revokeAccess } from "./access-rights";
import { checkBaseUrl } from "./address-guard";
import { assertNotBuiltin, syncBuiltinServices } from "./builtin-services";
import { listCatalogue } from "./catalogue-list";
import { allowedMethods, getOpenAPI, listClients, listMethods } from "./directory";
import { serviceIdOf, type ServiceParts } from "./identifiers";
import type { LiveCatalogue } from "./live";
import { hubLinkageClient, linkageClient } from "./linkage-client";
import { callResultOf, mediatedRequestHash, type MediatedRequest, type Mediator } from "./mediation";
import { addService, getService, linkedServices, listServices, removeService, setDisabled, toService, updateService } from "./registry";

type Schemas = components["schemas"];

export interface CatalogueDeps {
  catalogue: LiveCatalogue;
  partners: PartnerAccess;
  mediation: Mediator;
}

/** The hub's own listening ports: no provider may be one of them. */
export const ownPorts = (config: HubNode["config"]) => [config.port, config.metricsPort, config.workerMetricsPort].filter((p): p is number => !!p);

export function catalogueService(node: HubNode, deps: CatalogueDeps): ServiceSchema {
  return {
    name: "catalogue",
    // The built-in agencies' services, written from the contract before the gateway takes calls.
    started: () => syncBuiltinServices(node.db, node.config.instance),
    actions: {
      ...serviceActions(node),
      ...accessActions(node),
      ...directoryActions(node),
      // Public: what the catalogue offers and how well it serves (GET /v1/catalogue, the /catalogue page).
      list: {
        ...actionContract("CatalogueListParams", "CataloguePage"),
        handler: (ctx: Context<Schemas["CatalogueListParams"]>) => listCatalogue(node.db, node.config.instance, ctx.params),
      },
      call: {
        ...actionContract("CatalogueCallParams", "CatalogueCallResult"),
        handler: (ctx: Context<Schemas["CatalogueCallParams"]>) => callOverNats(deps.mediation, ctx, ctx.params),
      },
      // Internal: a workflow activity's call for its linkage (no REST operation names it).
      linkageCall: {
        ...actionContract("CatalogueLinkageCallParams", "CatalogueCallResult"),
        handler: async (ctx: Context<Schemas["CatalogueLinkageCallParams"]>) => {
          const { linkageId, client, ...call } = ctx.params;
          if (!linkageId && client !== "hub")
            throw new HubError("HUB_ERR_REQUEST_INVALID", "A call for a linkage's partner names the linkage", {
              errors: [{ in: "params", pointer: "/linkageId", detail: "is required unless client is hub" }],
            });
          // The hub's own linkages subsystem: for a linkage where the hub consults agencies on its partner's behalf (event permits).
          const partner = client === "hub" || !linkageId ? hubLinkageClient(node.config) : await linkageClient(node.db, node.config, linkageId);
          const headers = { ...call.headers };
          for (const name of Object.keys(headers)) if (name.toLowerCase() === "authorization") delete headers[name];
          return callOverNats(deps.mediation, ctx, { ...call, headers }, { linkageId, partner });
        },
      },
    },
    events: {
      [ACCESS_CHANGED]() {
        deps.catalogue.forget();
        deps.partners.forget();
      },
    },
  };
}

/** The registry of services: add, update, list, show, its document, enable, disable, remove. */
function serviceActions(node: HubNode): ServiceSchema["actions"] {
  const { db } = node;
  const id = (ctx: Context<ServiceParts>) => serviceIdOf(ctx.params);
  // The id of a service an operator changes by hand: never a built-in agency's.
  const hand = (ctx: Context<ServiceParts>, change: string) => (assertNotBuiltin(id(ctx), change), id(ctx));
  return {
    "services.add": {
      ...actionContract("ServiceRegistration", "CatalogueService"),
      handler: (ctx: Context<Schemas["ServiceRegistration"]>) => announced(ctx, register(node, ctx.params)),
    },
    "services.update": {
      ...actionContract("ServiceUpdate", "CatalogueService"),
      handler: async (ctx: Context<Schemas["ServiceUpdate"]>) => announced(ctx, updateService(db, hand(ctx, "updated"), ctx.params.openapi)),
    },
    "services.list": { ...actionContract(undefined, "CatalogueServiceList"), handler: async () => ({ services: (await listServices(db)).map(toService) }) },
    "services.show": {
      ...actionContract("ServiceRef", "CatalogueService"),
      handler: async (ctx: Context<ServiceParts>) => toService(await getService(db, id(ctx))),
    },
    "services.document": {
      ...actionContract("ServiceRef", "CatalogueServiceDocument"),
      handler: async (ctx: Context<ServiceParts>) => ({ id: id(ctx), openapi: (await getService(db, id(ctx))).document }),
    },
    "services.enable": {
      ...actionContract("ServiceRef", "CatalogueService"),
      handler: async (ctx: Context<ServiceParts>) => announced(ctx, setDisabled(db, hand(ctx, "enabled"), false)),
    },
    "services.disable": {
      ...actionContract("ServiceRef", "CatalogueService"),
      handler: async (ctx: Context<ServiceParts>) => announced(ctx, setDisabled(db, hand(ctx, "disabled"), true)),
    },
    "services.linked": {
      ...actionContract("LinkedServiceQuery", "LinkedServiceList"),
      handler: async (ctx: Context<Schemas["LinkedServiceQuery"]>) => ({ services: await linkedServices(db, ctx.params.linkage) }),
    },
    "services.remove": {
      ...actionContract("ServiceRef", "CatalogueServiceRemoval"),
      handler: async (ctx: Context<ServiceParts>) => ({ id: id(ctx), removed: await announced(ctx, removeService(db, hand(ctx, "removed"))) }),
    },
  };
}

/** Access rights: grant, revoke, list. */
function accessActions(node: HubNode): ServiceSchema["actions"] {
  const { db } = node;
  return {
    "access.grant": {
      ...actionContract("AccessGrantParams", "AccessGrantList"),
      handler: async (ctx: Context<Schemas["AccessGrantParams"]>) => ({ grants: await announced(ctx, grantAccess(db, ctx.params)) }),
    },
    "access.revoke": {
      ...actionContract("AccessRevokeParams", "AccessGrantList"),
      handler: async (ctx: Context<Schemas["AccessRevokeParams"]>) => ({ grants: await announced(ctx, revokeAccess(db, ctx.params)) }),
    },
    "access.list": {
      ...actionContract("AccessGrantQuery", "AccessGrantList"),
      handler: async (ctx: Context<Schemas["AccessGrantQuery"]>) => ({ grants: await listGrants(db, ctx.params) }),
    },
  };
}

/** The GovStack directory. */
function directoryActions(node: HubNode): ServiceSchema["actions"] {
  const { db, config } = node;
  return {
    "directory.listClients": {
      ...actionContract("DirectoryClientQuery", "DirectoryClientList"),
      handler: (ctx: Context<Schemas["DirectoryClientQuery"]>) => listClients(db, ctx.params.instanceId ?? config.instance),
    },
    "directory.listMethods": {
      ...actionContract("DirectoryQuery", "DirectoryServiceList"),
      handler: (ctx: Context<Schemas["DirectoryQuery"]>) => listMethods(db, ctx.params),
    },
    "directory.allowedMethods": {
      ...actionContract("DirectoryQuery", "DirectoryServiceList"),
      handler: async (ctx: Context<Schemas["DirectoryQuery"]>) => allowedMethods(db, ctx.params, await callerSubsystem(node, ctx)),
    },
    "directory.getOpenAPI": {
      ...actionContract("DirectoryQuery", "OpenApiDocument"),
      handler: (ctx: Context<Schemas["DirectoryQuery"]>) => getOpenAPI(db, ctx.params),
    },
  };
}

async function register(node: HubNode, params: Schemas["ServiceRegistration"]) {
  assertNotBuiltin(serviceIdOf(params), "registered");
  await checkBaseUrl(params.baseUrl, ownPorts(node.config));
  return addService(node.db, params);
}

/** The subsystem of the partner calling (the gateway names it in meta); internal callers have none to be granted. */
async function callerSubsystem(node: HubNode, ctx: Context): Promise<string> {
  const partner = metaOf(ctx).partner;
  if (!partner) throw new HubError("HUB_ERR_FORBIDDEN", "allowedMethods answers for a partner; call it with a partner's token");
  return (await getPartner(node.db, partner)).subsystem;
}

/** `catalogue.call`: the call as REST would carry it; the provider's answer back, its body JSON where it is JSON. */
async function callOverNats(
  mediation: Mediator,
  ctx: Context,
  params: Schemas["CatalogueCallParams"],
  forLinkage?: MediatedRequest["forLinkage"],
): Promise<Schemas["CatalogueCallResult"]> {
  const { service, method, path: target, body } = params;
  const headers = Object.fromEntries(Object.entries(params.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const text = typeof body === "string" || body === undefined;
  if (!text) headers["content-type"] ??= "application/json";
  const bytes = body === undefined ? Buffer.alloc(0) : Buffer.from(text ? (body as string) : JSON.stringify(body));
  // At the first `?` only: a query may hold more (split("?", 2) dropped what followed a second one).
  const cut = target.indexOf("?");
  const [path, query] = cut < 0 ? [target, ""] : [target.slice(0, cut), target.slice(cut + 1)];
  const requestId = ctx.requestID ?? headers["x-request-id"] ?? "";
  const answer = await mediation.mediate({
    serviceId: service,
    method,
    path,
    query,
    headers,
    body: bytes,
    requestId,
    requestHash: mediatedRequestHash(method, `/r1/${service}${target}`, bytes),
    ...(forLinkage ? { forLinkage } : {}),
  });
  return callResultOf(answer);
}
