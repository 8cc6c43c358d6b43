/**
 * `linkage-hub partners ...`: the partner registry. It talks to the running hub's `partners`
 * service over NATS, which works whatever database the hub uses (the embedded PGlite of
 * `npm start` included); with no hub answering and DATABASE_URL set, it uses PostgreSQL
 * directly.
 */

import { loadConfig } from "../../platform/config";
import { openDb } from "../../platform/db";
import { migrateHub } from "../../hub/schema";
import { addPartner, disablePartner, getPartner, listPartners, rotateSecret } from "../../partners/registry";
import { rotateKeys } from "../../partners/keys";
import { PURPOSES, SCOPES } from "../../partners/vocabulary";
import type { components } from "../../contracts/generated/types";
import { subcommand, table, UsageError, type Options } from "./usage";
import { hubBroker, noHub } from "./hub";

type Schemas = components["schemas"];
type Partner = Schemas["Partner"];
type Credentials = Schemas["PartnerCredentials"];

const HELP: Record<string, string> = {
  "": `Usage: npx linkage-hub partners <add|list|show|rotate-secret|rotate-keys|disable> [options]

  add             register a partner and print its client id and secret (shown once)
  list            every partner
  show            one partner
  rotate-secret   a new client secret (the old one may stay valid for a grace period)
  disable         refuse the partner's tokens and credentials from now on
  rotate-keys     sign tokens with the next (already published) key; publish a new next one

Every subcommand takes --help and --json. The CLI reaches the running hub over NATS
(NATS_URL, HUB_NAMESPACE); with no hub running and DATABASE_URL set, PostgreSQL directly.`,
  add: `Usage:
  npx linkage-hub partners add <id> --scopes <s,...|all> --purposes <p,...|all>
      [--subsystem <instance/class/member/subsystem>] [--name <text>]
      [--quota <requests>/<seconds>] [--webhook <url>] [--json]
  npx linkage-hub partners add --test [--json]

<id> is the OAuth client_id (a-z 0-9 . _ -). --subsystem is the partner's X-Road / GovStack
subsystem id, which its calls name in X-GovStack-Client (default HUB_INSTANCE/GOV/<id>/default).
--test registers "test-partner" with every
scope and purpose, for trying the API. --quota defaults to 600/60 (600 requests a minute).
Prints the client secret (and, with --webhook, the webhook signing secret) once.
Scopes:   ${SCOPES.join(", ")}
Purposes: ${PURPOSES.join(", ")}`,
  list: `Usage: npx linkage-hub partners list [--json]`,
  show: `Usage: npx linkage-hub partners show <id> [--json]`,
  "rotate-secret": `Usage: npx linkage-hub partners rotate-secret <id> [--grace <seconds>] [--json]

Prints a new client secret. With --grace the old secret keeps working that long (default 0:
it stops at once), so the partner can switch without an outage.`,
  "rotate-keys": `Usage: npx linkage-hub partners rotate-keys [--json]

The key published as next starts signing tokens; the one signing until now stays in
/.well-known/jwks.json until its tokens have expired; a new next key is published. Tokens in
flight keep working: rotation needs no downtime.`,
  disable: `Usage: npx linkage-hub partners disable <id> [--json]

The partner's tokens are refused within seconds and it gets no new ones.`,
};

/** What the CLI needs of the registry, over NATS or directly. */
interface Registry {
  add(params: Schemas["PartnerParams"]): Promise<Credentials>;
  list(): Promise<Partner[]>;
  show(id: string): Promise<Partner>;
  rotate(id: string, graceS: number): Promise<Credentials>;
  rotateKeys(): Promise<Schemas["KeyRotation"]>;
  disable(id: string): Promise<Partner>;
  close(): Promise<void>;
}

async function overNats(): Promise<Registry | undefined> {
  const broker = await hubBroker("partners");
  if (!broker) return undefined;
  const call = <T>(action: string, params: object = {}) => broker.call<T, object>(`partners.${action}`, params);
  return {
    add: (params) => call("add", params),
    list: async () => (await call<Schemas["PartnerList"]>("list")).partners,
    show: (id) => call("show", { id }),
    rotate: (id, graceS) => call("rotateSecret", { id, graceS }),
    rotateKeys: () => call("rotateKeys"),
    disable: (id) => call("disable", { id }),
    close: () => broker.stop(),
  };
}

async function direct(url: string): Promise<Registry> {
  const db = await openDb({ url, pgliteDir: "" });
  await migrateHub(db);
  return {
    add: ({ clientSecret, ...fields }) => addPartner(db, fields, clientSecret),
    list: () => listPartners(db),
    show: (id) => getPartner(db, id),
    rotate: (id, graceS) => rotateSecret(db, id, graceS),
    disable: (id) => disablePartner(db, id),
    rotateKeys: () => rotateKeys(db),
    close: () => db.close(),
  };
}

async function registry(): Promise<Registry> {
  const nats = await overNats();
  if (nats) return nats;
  const { databaseUrl } = loadConfig();
  if (databaseUrl) return direct(databaseUrl);
  throw new Error(`${noHub().message} Or set DATABASE_URL to manage partners in PostgreSQL directly.`);
}

const list = (value: unknown, all: readonly string[]) =>
  value === "all"
    ? [...all]
    : String(value ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);

function addParams(values: Record<string, unknown>, positionals: string[]): Schemas["PartnerParams"] {
  if (values.test) return { id: "test-partner", name: "Test partner (every scope and purpose)", scopes: [...SCOPES], purposes: [...PURPOSES] };
  const [id] = positionals;
  if (!id || positionals.length > 1) throw new UsageError(`Name one partner id.\n\n${HELP.add}`);
  if (!values.scopes || !values.purposes) throw new UsageError(`--scopes and --purposes are required (or "all").\n\n${HELP.add}`);
  const params: Schemas["PartnerParams"] = { id, scopes: list(values.scopes, SCOPES), purposes: list(values.purposes, PURPOSES) as Schemas["DataPurpose"][] };
  if (values.name) params.name = String(values.name);
  if (values.webhook) params.webhookUrl = String(values.webhook);
  if (values.subsystem) params.subsystem = String(values.subsystem);
  if (values.quota) {
    const m = /^(\d+)(?:\/(\d+))?$/.exec(String(values.quota));
    if (!m) throw new UsageError(`--quota is <requests>/<seconds>, e.g. 600/60, not "${values.quota}"`);
    params.quota = Number(m[1]);
    params.quotaWindowS = Number(m[2] ?? 60);
  }
  return params;
}

function partnersTable(partners: Partner[]): string {
  const rows = partners.map((p) => [
    p.id,
    p.subsystem,
    p.disabled ? "disabled" : "active",
    `${p.quota}/${p.quotaWindowS}s`,
    p.scopes.join(","),
    p.purposes.join(","),
    p.webhookUrl ?? "-",
  ]);
  return table(["ID", "SUBSYSTEM", "STATE", "QUOTA", "SCOPES", "PURPOSES", "WEBHOOK"], rows);
}

function credentials(c: Credentials): string {
  const hubUrl = `http://127.0.0.1:${loadConfig().port}`;
  return [
    `client id:      ${c.clientId}`,
    `client secret:  ${c.clientSecret}   (shown once; keep it safe)`,
    ...(c.webhookSecret ? [`webhook secret: ${c.webhookSecret}   (verifies webhook signatures)`] : []),
    "",
    "Get a token:",
    `  curl -s -u '${c.clientId}:${c.clientSecret}' -d grant_type=client_credentials ${hubUrl}/v1/oauth/token`,
  ].join("\n");
}

/** Each subcommand's options (besides --json and --help). */
const OPTIONS: Record<string, Options> = {
  add: {
    scopes: { type: "string" },
    purposes: { type: "string" },
    name: { type: "string" },
    quota: { type: "string" },
    webhook: { type: "string" },
    subsystem: { type: "string" },
    test: { type: "boolean" },
  },
  list: {},
  show: {},
  "rotate-secret": { grace: { type: "string" } },
  "rotate-keys": {},
  disable: {},
};

export async function partnersCommand(args: string[]): Promise<void> {
  const called = subcommand(args, HELP, OPTIONS);
  if (!called) return;
  const { sub, values, positionals } = called;
  const one = () => {
    if (positionals.length !== 1) throw new UsageError(`Name one partner id.\n\n${HELP[sub]}`);
    return positionals[0]!;
  };
  const params = sub === "add" ? addParams(values, positionals) : undefined;
  const id = ["add", "list", "rotate-keys"].includes(sub) ? "" : one();
  const grace = values.grace === undefined ? 0 : Number(values.grace);
  if (!Number.isInteger(grace) || grace < 0) throw new UsageError(`--grace is a whole number of seconds, not "${values.grace}"`);

  const reg = await registry();
  try {
    const out = (json: unknown, text: string) => console.log(values.json ? JSON.stringify(json, null, 2) : text);
    if (sub === "add") {
      const made = await reg.add(params!);
      out(made, `Added partner ${made.clientId}.\n${credentials(made)}`);
    } else if (sub === "list") {
      const partners = await reg.list();
      out(partners, partners.length ? partnersTable(partners) : "No partners yet: add one with `npx linkage-hub partners add`.");
    } else if (sub === "show") {
      const p = await reg.show(id);
      out(p, partnersTable([p]));
    } else if (sub === "rotate-secret") {
      const made = await reg.rotate(id, grace);
      out(made, `New secret for ${id}${grace ? ` (the old one works ${grace} s more)` : " (the old one no longer works)"}.\n${credentials(made)}`);
    } else if (sub === "rotate-keys") {
      const r = await reg.rotateKeys();
      out(r, `Tokens are signed with key ${r.active} from now on; ${r.retired.join(", ") || "no key"} stays published until its tokens expire.`);
    } else if (sub === "disable") {
      const p = await reg.disable(id);
      out(p, `Partner ${p.id} is disabled.`);
    }
  } finally {
    await reg.close();
  }
}
