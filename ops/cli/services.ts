/**
 * `linkage-hub services ...`: providers' REST services in the catalogue, registered from their
 * OpenAPI documents. Goes through the running hub over NATS (`catalogue.services.*`), which
 * announces every change to the gateways. `update` compares the new document with the
 * registered one (oasdiff) and refuses breaking changes unless allowed.
 */
import { parseDocument } from "../../catalogue/document-read";
import { isObject } from "../../catalogue/json-pointer";
import type { components } from "../../contracts/generated/types";
import { oasdiffBreaking, type BreakingChange } from "../oasdiff";
import type { ServiceParts } from "../../catalogue/identifiers";
import { reportingRefusals, serviceRef, withCatalogue, type Catalogue } from "./catalogue";
import { readOpenApi, type OpenApiSource } from "./openapi-source";
import { printer, subcommand, table, UsageError, type Options, type Values } from "./usage";

type Schemas = components["schemas"];
type Service = Schemas["CatalogueService"];
type Grant = Schemas["AccessGrant"];
type Print = ReturnType<typeof printer>;

const OPENAPI_HELP = `--openapi     the provider's OpenAPI 3.0 or 3.1 document, YAML or JSON, at most 2 MiB: a file,
              or an https:// URL (http:// only from 127.0.0.1 or localhost), fetched within 20 s.
              It is checked here first, as the hub checks it: each problem is printed with
              its JSON pointer into the document (exit 1).`;

const HELP: Record<string, string> = {
  "": `Usage: npx linkage-hub services <add|update|list|show|disable|enable|remove> [options]

  add       register a provider's REST service from its OpenAPI document
  update    a new version of a service's document (breaking changes refused unless allowed)
  list      every service in the catalogue
  show      one service: version, state, base URL, credentials reference, methods
  disable   refuse calls to the service (its access rights are kept)
  enable    take calls to the service again
  remove    the service and every access right on it

A service id is <instance>/<memberClass>/<memberCode>/<subsystemCode>/<serviceCode>, e.g.
LOCAL/GOV/50000001/population-registry/persons. Who may call it: \`npx linkage-hub access\`.
Every subcommand takes --help and --json. The CLI works through the running hub over NATS
(NATS_URL, HUB_NAMESPACE), which tells every gateway of each change.`,
  add: `Usage:
  npx linkage-hub services add <subsystem>/<serviceCode> --openapi <file|url> --base-url <url>
      [--auth bearer:env:VAR|basic:env:VAR|none] [--timeout-ms <n>] [--json]

<subsystem>/<serviceCode> is the new service's id: the provider's subsystem
(instance/memberClass/memberCode/subsystemCode) and a code of its choosing.
${OPENAPI_HELP}
--base-url    where the hub forwards calls (base URL + the called path): http(s); not a
              link-local, multicast or unspecified address, nor the hub's own ports
--auth        the provider's credentials, named, never given: an environment variable of the
              hub's nodes holding a token (bearer:env:VAR) or user:password (basic:env:VAR);
              none (the default) sends none. The hub stores and shows only the reference.
--timeout-ms  how long a call may take at the provider, 100 to 60000 (default 10000)`,
  update: `Usage:
  npx linkage-hub services update <service id> --openapi <file|url> [--allow-breaking] [--json]

The new document is checked, then compared with the registered one by oasdiff (breaking
base new): changes that break callers (oasdiff level ERR: an operation removed, a parameter
newly required...) are listed, and the update is refused (exit 1) unless --allow-breaking.
Access rights on operations the new document drops are dropped with them.
${OPENAPI_HELP}`,
  list: `Usage: npx linkage-hub services list [--json]`,
  show: `Usage: npx linkage-hub services show <service id> [--json]`,
  disable: `Usage: npx linkage-hub services disable <service id> [--json]

Calls to the service are refused (403, service disabled) on every gateway within the second;
its document and access rights are kept for \`services enable\`.`,
  enable: `Usage: npx linkage-hub services enable <service id> [--json]`,
  remove: `Usage: npx linkage-hub services remove <service id> [--json]

Removes the service with its document and every access right on it.`,
};

const OPTIONS: Record<string, Options> = {
  add: { openapi: { type: "string" }, "base-url": { type: "string" }, auth: { type: "string" }, "timeout-ms": { type: "string" } },
  update: { openapi: { type: "string" }, "allow-breaking": { type: "boolean" } },
  list: {},
  show: {},
  disable: {},
  enable: {},
  remove: {},
};

const AUTH = /^(none|(bearer|basic):env:[A-Za-z_][A-Za-z0-9_]{0,100})$/;

/** --auth as a reference; anything else is refused without repeating it (it may be a secret). */
function authRef(value: string | boolean | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string" && AUTH.test(value)) return value;
  throw new UsageError(
    `--auth takes a reference to the credentials, not the credentials: bearer:env:VAR, basic:env:VAR or none ` +
      `(VAR: an environment variable of the hub's nodes). What was given is not repeated here, in case it is a secret.`,
  );
}

function timeoutMs(value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 100 || n > 60_000) throw new UsageError(`--timeout-ms is a whole number from 100 to 60000, not "${value}"`);
  return n;
}

function baseUrl(value: string | boolean | undefined): string {
  const raw = String(value);
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || !["http:", "https:"].includes(url.protocol)) throw new UsageError(`--base-url is an http(s) URL, not "${raw}"`);
  return raw;
}

const methodLines = (s: Service) =>
  s.methods.map((m) => `  ${m.method.padEnd(7)} ${m.path}${m.personalData ? "   (personal data: Data-Purpose required)" : ""}`);

function details(s: Service): string {
  return [
    `id:        ${s.id}`,
    `title:     ${s.title} ${s.version}`,
    `state:     ${s.builtin ? "built in (the hub serves it at its own REST path; its document is the contract's)" : s.disabled ? "disabled (calls refused)" : "active"}`,
    `base URL:  ${s.baseUrl}`,
    `auth:      ${s.auth}`,
    `timeout:   ${s.timeoutMs} ms`,
    `updated:   ${s.updatedAt} (registered ${s.createdAt})`,
    `methods:`,
    ...methodLines(s),
  ].join("\n");
}

function servicesTable(services: Service[]): string {
  const rows = services.map((s) => [s.id, s.version, s.builtin ? "built-in" : s.disabled ? "disabled" : "active", String(s.methods.length), s.baseUrl, s.auth]);
  return table(["ID", "VERSION", "STATE", "METHODS", "BASE URL", "AUTH"], rows);
}

async function add(values: Values, positionals: string[], print: Print): Promise<void> {
  if (positionals.length > 1) throw new UsageError(`Name one service id.\n\n${HELP.add}`);
  const ref = serviceRef(positionals[0], HELP.add!);
  if (!values.openapi || !values["base-url"]) throw new UsageError(`--openapi and --base-url are required.\n\n${HELP.add}`);
  const auth = authRef(values.auth);
  const timeout = timeoutMs(values["timeout-ms"]);
  const url = baseUrl(values["base-url"]);
  const source = await readOpenApi(String(values.openapi));
  const params: Schemas["ServiceRegistration"] = { ...ref, openapi: source.text, baseUrl: url };
  if (auth) params.auth = auth;
  if (timeout) params.timeoutMs = timeout;
  const s = await withCatalogue((c) => c.call<Service>("services.add", params), { params, documentBytes: source.bytes });
  print(
    s,
    `Added ${s.id}: ${s.title} ${s.version}, ${s.methods.length} methods, calls forwarded to ${s.baseUrl}.\n` +
      `No client may call it yet: npx linkage-hub access grant --client <subsystem> --service ${s.id} --purposes <p,...|all>`,
  );
}

const changeLines = (changes: BreakingChange[]) =>
  changes.map((c) => `  ${[c.operation, c.path].filter(Boolean).join(" ") || "(document)"}: ${c.text} [${c.id}]`);

/** The registered document's version, and the changes from it to `next` that break callers (oasdiff). */
async function compare(c: Catalogue, ref: ServiceParts, next: OpenApiSource): Promise<{ id: string; from: string; breaking: BreakingChange[] }> {
  const current = await c.call<Schemas["CatalogueServiceDocument"]>("services.document", ref);
  const base = parseDocument(current.openapi);
  const from = isObject(base.info) ? String(base.info.version) : "?";
  return { id: current.id, from, breaking: await oasdiffBreaking(base, next.doc.raw) };
}

const rightsOn = async (c: Catalogue, service: string) => (await c.call<Schemas["AccessGrantList"]>("access.list", { service })).grants;
const rightKey = (g: Grant) => `${g.client} ${g.method} ${g.path}`;

async function update(values: Values, positionals: string[], print: Print): Promise<void> {
  if (positionals.length > 1) throw new UsageError(`Name one service id.\n\n${HELP.update}`);
  const ref = serviceRef(positionals[0], HELP.update!);
  if (!values.openapi) throw new UsageError(`--openapi is required.\n\n${HELP.update}`);
  const next = await readOpenApi(String(values.openapi));
  const params: Schemas["ServiceUpdate"] = { ...ref, openapi: next.text };
  await withCatalogue(
    async (c) => {
      const { id, from, breaking } = await compare(c, ref, next);
      const versions = `${from} → ${next.doc.version}`;
      if (breaking.length && !values["allow-breaking"]) {
        process.exitCode = 1;
        if (values.json) return print({ id, updated: false, from, to: next.doc.version, breaking }, "");
        const text = [`${id} not updated (${versions}): ${breaking.length} breaking change(s), by oasdiff:`, ...changeLines(breaking)];
        return console.error([...text, "Callers of these operations would fail. Pass --allow-breaking to update anyway."].join("\n"));
      }
      const before = await rightsOn(c, id);
      const s = await c.call<Service>("services.update", params);
      const kept = new Set((await rightsOn(c, id)).map(rightKey));
      const dropped = before.filter((g) => !kept.has(rightKey(g)));
      const text = [
        `Updated ${s.id}: ${s.title} ${versions}.`,
        ...(breaking.length ? [`Breaking change(s) allowed (--allow-breaking):`, ...changeLines(breaking)] : ["No breaking change."]),
        ...(dropped.length ? ["Access rights dropped with their operations:", ...dropped.map((g) => `  ${g.client} ${g.method} ${g.path}`)] : []),
      ];
      print({ id, updated: true, from, to: s.version, breaking, droppedRights: dropped, service: s }, text.join("\n"));
    },
    { params, documentBytes: next.bytes },
  );
}

async function byId(sub: string, positionals: string[], print: Print): Promise<void> {
  if (positionals.length !== 1) throw new UsageError(`Name one service id.\n\n${HELP[sub]}`);
  const ref = serviceRef(positionals[0], HELP[sub]!);
  await withCatalogue(async (c) => {
    if (sub === "remove") {
      const r = await c.call<Schemas["CatalogueServiceRemoval"]>("services.remove", ref);
      return print(r, r.removed ? `Removed ${r.id} and every access right on it.` : `No service ${r.id} in the catalogue: nothing removed.`);
    }
    const s = await c.call<Service>(`services.${sub}`, ref);
    if (sub === "show") return print(s, details(s));
    const state = s.disabled ? "disabled: its calls are refused until `services enable`" : "enabled: it takes calls again";
    print(s, `${s.id} is ${state}.`);
  });
}

async function list(print: Print): Promise<void> {
  const { services } = await withCatalogue((c) => c.call<Schemas["CatalogueServiceList"]>("services.list"));
  print(services, services.length ? servicesTable(services) : "No services in the catalogue yet: add one with `npx linkage-hub services add`.");
}

export async function servicesCommand(args: string[]): Promise<void> {
  const called = subcommand(args, HELP, OPTIONS);
  if (!called) return;
  const { sub, values, positionals } = called;
  const print = printer(values.json === true);
  await reportingRefusals(values.json === true, async () => {
    if (sub === "add") await add(values, positionals, print);
    else if (sub === "update") await update(values, positionals, print);
    else if (sub === "list") {
      if (positionals.length) throw new UsageError(`list takes no argument.\n\n${HELP.list}`);
      await list(print);
    } else await byId(sub, positionals, print);
  });
}
