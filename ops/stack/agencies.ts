/**
 * The catalogue agencies (agencies/<agency>/): public security, fire safety and the aviation
 * authority are joined through the catalogue, not as adapters. Once a hub is ready, the stacks
 * (`npm start`, the test harness, the bench stack) register each service from its OpenAPI
 * document and grant it to the hub's own linkages subsystem for its purpose (`event-safety`;
 * the aviation authority's `aviation-safety`), the way `npx linkage-hub services
 * add` and `access grant` do: the CLI's own document reading and NATS calls
 * (ops/cli/openapi-source.ts, ops/cli/catalogue.ts). Idempotent: the same document and base
 * URL write nothing; a changed document is an update; a changed base URL, a new registration.
 */
import net, { type AddressInfo } from "node:net";
import path from "node:path";
import { hubLinkageSubsystem } from "../../catalogue/linkage-client";
import { parseServiceId } from "../../catalogue/identifiers";
import type { components } from "../../contracts/generated/types";
import { loadConfig } from "../../platform/config";
import { withCatalogue, type Catalogue } from "../cli/catalogue";
import { readOpenApi } from "../cli/openapi-source";
import { startHubNode, type Say } from "./services";

type Schemas = components["schemas"];

const ROOT = path.resolve(__dirname, "../..");

/** The purpose the hub's linkages call the event agencies (public security, fire safety) for. */
export const AGENCY_PURPOSE: Schemas["DataPurpose"] = "event-safety";

/** Each agency, the setting of its base URL, its service code, and the one purpose the hub is granted it for. */
export const CATALOGUE_AGENCIES = [
  { agency: "public-security", url: "publicSecurityUrl", code: "GOV/public-security/police/event-security", purpose: AGENCY_PURPOSE },
  { agency: "fire-safety", url: "fireSafetyUrl", code: "GOV/fire-safety/inspections/venue-inspections", purpose: AGENCY_PURPOSE },
  { agency: "aviation", url: "aviationUrl", code: "GOV/aviation/drones/drone-registry", purpose: "aviation-safety" },
] as const satisfies readonly { agency: string; url: string; code: string; purpose: Schemas["DataPurpose"] }[];

export type CatalogueAgency = (typeof CATALOGUE_AGENCIES)[number]["agency"];

/** The agency's service id on `instance` (`{instance}/GOV/fire-safety/inspections/venue-inspections`). */
export const agencyServiceId = (agency: CatalogueAgency, instance: string) => `${instance}/${CATALOGUE_AGENCIES.find((a) => a.agency === agency)!.code}`;

/** The OpenAPI document the project writes for the agency. */
export const agencyDocument = (agency: CatalogueAgency) => path.join(ROOT, "agencies", agency, "openapi.yaml");

export interface AgencyRegistration {
  agency: CatalogueAgency;
  service: string;
  baseUrl: string;
  /** What was done to the service: nothing, added, a new document, or registered again at a new base URL. */
  change: "unchanged" | "added" | "updated" | "moved";
  /** Whether the hub's linkages subsystem had to be granted it (again). */
  granted: boolean;
  /** The purpose it is granted for. */
  purpose: Schemas["DataPurpose"];
}

/** One agency registered and granted over `c`, writing only what differs. */
async function registerOne(c: Catalogue, agency: (typeof CATALOGUE_AGENCIES)[number], env: NodeJS.ProcessEnv, document: string): Promise<AgencyRegistration> {
  const config = loadConfig(env);
  const service = agencyServiceId(agency.agency, config.instance);
  const baseUrl = config[agency.url];
  const source = await readOpenApi(document);
  const ref = parseServiceId(service);
  const registration: Schemas["ServiceRegistration"] = { ...ref, openapi: source.text, baseUrl };
  const { services } = await c.call<Schemas["CatalogueServiceList"]>("services.list");
  const current = services.find((s) => s.id === service);
  let outcome: AgencyRegistration["change"] = "unchanged";
  if (!current) {
    await c.call("services.add", registration);
    outcome = "added";
  } else if (current.baseUrl !== baseUrl) {
    // The base URL is fixed at registration: a sandbox moved to another address is registered anew.
    await c.call("services.remove", ref);
    await c.call("services.add", registration);
    outcome = "moved";
  } else if ((await c.call<Schemas["CatalogueServiceDocument"]>("services.document", ref)).openapi !== source.text) {
    await c.call("services.update", { ...ref, openapi: source.text });
    outcome = "updated";
  }
  const client = hubLinkageSubsystem(config.instance);
  const { grants } = await c.call<Schemas["AccessGrantList"]>("access.list", { client, service });
  const held = grants.some((g) => g.method === "*" && g.purposes.length === 1 && g.purposes[0] === agency.purpose);
  if (!held) await c.call("access.grant", { client, service, purposes: [agency.purpose] });
  return { agency: agency.agency, service, baseUrl, change: outcome, granted: !held, purpose: agency.purpose };
}

/**
 * Registers the agencies with the hub that `env` names (its NATS, namespace, instance and the
 * agencies' URLs) and grants them to its linkages subsystem; answers what each needed.
 * `documents`: another document file for an agency (tests of a changed document).
 */
export async function registerAgencies(
  env: NodeJS.ProcessEnv = process.env,
  documents: Partial<Record<CatalogueAgency, string>> = {},
): Promise<AgencyRegistration[]> {
  return withCatalogue(
    async (c) => {
      const done: AgencyRegistration[] = [];
      for (const agency of CATALOGUE_AGENCIES) done.push(await registerOne(c, agency, env, documents[agency.agency] ?? agencyDocument(agency.agency)));
      return done;
    },
    undefined,
    env,
  );
}

/** One line per agency, as the stacks print it. */
export function registrationLine(r: AgencyRegistration): string {
  const what = { unchanged: "in the catalogue, unchanged", added: "registered", updated: "document updated", moved: "registered again at its new base URL" }[
    r.change
  ];
  const grant = r.granted ? `, granted to the hub's linkages for ${r.purpose}` : "";
  return `${r.agency}: ${r.service} ${what} (${r.baseUrl})${grant}`;
}

/** A port free now on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * For a stack that runs no hub of its own (the test harness: each test starts its own nodes,
 * on the one database): a gateway node in a namespace of its own registers the agencies in
 * that database, then stops.
 */
export async function registerAgenciesWithOwnNode(env: NodeJS.ProcessEnv, logDir: string, say: Say): Promise<AgencyRegistration[]> {
  const port = await freePort();
  const nodeEnv = {
    ...process.env,
    ...env,
    HUB_SERVICES: "api",
    HUB_NAMESPACE: `agencies-${process.pid}`,
    HUB_NODE_ID: `agencies-${process.pid}`,
    HUB_PORT: String(port),
    HUB_WORKER_METRICS_PORT: "off",
  };
  const node = await startHubNode("hub-agencies", nodeEnv, `http://127.0.0.1:${port}/readyz`, logDir);
  try {
    const done = await registerAgencies(nodeEnv);
    for (const r of done) say(registrationLine(r));
    return done;
  } finally {
    await node.stop();
  }
}
