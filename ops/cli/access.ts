/**
 * `linkage-hub access ...`: which client subsystems may call which operations of catalogue
 * services, for which purposes. Goes through the running hub over NATS
 * (`catalogue.access.*`), which tells every gateway of each change.
 */
import { PURPOSES } from "../../partners/vocabulary";
import type { components } from "../../contracts/generated/types";
import { reportingRefusals, serviceRef, subsystemId, withCatalogue } from "./catalogue";
import { printer, subcommand, table, UsageError, type Options, type Values } from "./usage";

type Schemas = components["schemas"];
type Grant = Schemas["AccessGrant"];
type Print = ReturnType<typeof printer>;

const WHO = `A client is a partner's subsystem, <instance>/<memberClass>/<memberCode>/<subsystemCode>
(\`npx linkage-hub partners show <id>\` names it); a service id adds the service code
(\`npx linkage-hub services list\`).`;

const HELP: Record<string, string> = {
  "": `Usage: npx linkage-hub access <grant|revoke|list> [options]

  grant    let a client subsystem call a catalogue service (some operations, or all)
  revoke   take rights back
  list     rights, by client and service

${WHO}
Every subcommand takes --help and --json. The CLI works through the running hub over NATS
(NATS_URL, HUB_NAMESPACE), which tells every gateway of each change.`,
  grant: `Usage:
  npx linkage-hub access grant --client <subsystem> --service <service id>
      [--methods "GET /path,POST /path"] --purposes <p,...|all> [--json]

--methods   operations as the service's document names them, METHOD and path template
            ("GET /persons/{idNumber}"); without it, every operation, those of later
            documents included. One the document lacks is refused.
--purposes  the purposes the client may state in Data-Purpose for operations marked as
            personal data; all: any. Granted again, a right's purposes are replaced.
Purposes: ${PURPOSES.join(", ")}
${WHO}`,
  revoke: `Usage:
  npx linkage-hub access revoke --client <subsystem> --service <service id>
      [--methods "GET /path,POST /path"] [--json]

Takes back the rights on the operations named, or (without --methods) every right of the
client on the service. A right goes whole, with all its purposes (--purposes is ignored):
to narrow the purposes, grant again with those that stay.
${WHO}`,
  list: `Usage: npx linkage-hub access list [--client <subsystem>] [--service <service id>] [--json]

Every right, or those of one client, of one service.`,
};

const OPTIONS: Record<string, Options> = {
  grant: { client: { type: "string" }, service: { type: "string" }, methods: { type: "string" }, purposes: { type: "string" } },
  revoke: { client: { type: "string" }, service: { type: "string" }, methods: { type: "string" }, purposes: { type: "string" } },
  list: { client: { type: "string" }, service: { type: "string" } },
};

/** "GET /a, post /b" as ["GET /a", "POST /b"]. */
function methods(value: string, help: string): string[] {
  const list = value
    .split(",")
    .map((m) => m.trim())
    .filter(Boolean);
  const named = list.map((m) => {
    const match = /^([A-Za-z]+)\s+(\/\S*)$/.exec(m);
    if (!match) throw new UsageError(`--methods: "${m}" is not METHOD /path (e.g. "GET /persons/{idNumber}").\n\n${help}`);
    return `${match[1]!.toUpperCase()} ${match[2]}`;
  });
  if (!named.length) throw new UsageError(`--methods names no operation.\n\n${help}`);
  return [...new Set(named)];
}

function purposes(value: string, help: string): Schemas["AccessGrantParams"]["purposes"] {
  if (value.trim() === "all") return ["all"];
  const list = [...new Set(value.split(",").map((p) => p.trim()))].filter(Boolean);
  const unknown = list.filter((p) => !(PURPOSES as readonly string[]).includes(p));
  if (!list.length || unknown.length)
    throw new UsageError(
      `--purposes: ${unknown.length ? `no purpose ${unknown.join(", ")}` : "none named"}; they are ${PURPOSES.join(", ")}, or all.\n\n${help}`,
    );
  return list as Schemas["DataPurpose"][];
}

function grantParams(sub: string, values: Values): Schemas["AccessRevokeParams"] & { purposes?: Schemas["AccessGrantParams"]["purposes"] } {
  const help = HELP[sub]!;
  if (!values.client || !values.service) throw new UsageError(`--client and --service are required${sub === "grant" ? ", and --purposes" : ""}.\n\n${help}`);
  if (sub === "grant" && !values.purposes) throw new UsageError(`--purposes is required (or all).\n\n${help}`);
  const params: Schemas["AccessRevokeParams"] & { purposes?: Schemas["AccessGrantParams"]["purposes"] } = {
    client: subsystemId(String(values.client), "--client", help),
    service: String(values.service),
  };
  serviceRef(params.service, help);
  if (values.methods !== undefined) params.methods = methods(String(values.methods), help);
  if (sub === "grant") params.purposes = purposes(String(values.purposes), help);
  else if (values.purposes !== undefined) console.error("(--purposes is ignored: revoke takes back whole rights; grant again to change purposes.)");
  return params;
}

const operation = (g: Grant) => (g.method === "*" ? "every operation" : `${g.method} ${g.path}`);

function grantsTable(grants: Grant[]): string {
  const rows = grants.map((g) => [g.client, g.service, operation(g), g.purposes.join(","), g.createdAt]);
  return table(["CLIENT", "SERVICE", "OPERATION", "PURPOSES", "GRANTED"], rows);
}

async function change(sub: "grant" | "revoke", values: Values, print: Print): Promise<void> {
  const params = grantParams(sub, values);
  const { grants } = await withCatalogue((c) => c.call<Schemas["AccessGrantList"]>(`access.${sub}`, params));
  const what = params.methods ? params.methods.join(", ") : "every operation";
  const head =
    sub === "grant"
      ? `Granted ${params.client} ${what} of ${params.service}, for ${params.purposes!.join(", ")}.`
      : `Revoked ${params.client}'s rights on ${what} of ${params.service}.`;
  const left = grants.length ? `Its rights on the service now:\n${grantsTable(grants)}` : "It has no right on the service now.";
  print(grants, `${head}\n${left}`);
}

async function list(values: Values, print: Print): Promise<void> {
  const query: Schemas["AccessGrantQuery"] = {};
  if (values.client) query.client = subsystemId(String(values.client), "--client", HELP.list!);
  if (values.service) query.service = String(values.service);
  if (query.service) serviceRef(query.service, HELP.list!);
  const { grants } = await withCatalogue((c) => c.call<Schemas["AccessGrantList"]>("access.list", query));
  const none = query.client || query.service ? "No access rights match." : "No access rights yet: grant one with `npx linkage-hub access grant`.";
  print(grants, grants.length ? grantsTable(grants) : none);
}

export async function accessCommand(args: string[]): Promise<void> {
  const called = subcommand(args, HELP, OPTIONS);
  if (!called) return;
  const { sub, values, positionals } = called;
  if (positionals.length) throw new UsageError(`${sub} takes options only, not "${positionals.join(" ")}".\n\n${HELP[sub]}`);
  const print = printer(values.json === true);
  await reportingRefusals(values.json === true, () => (sub === "list" ? list(values, print) : change(sub as "grant" | "revoke", values, print)));
}
