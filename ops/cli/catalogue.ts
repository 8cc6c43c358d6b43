/**
 * What `linkage-hub services` and `linkage-hub access` share: the catalogue reached through the
 * running hub over NATS (never the database directly: the hub announces each change to every
 * gateway), a message too large for the NATS server said before it is sent, the hub's
 * refusals printed with their JSON pointers, option parsing, ids and tables.
 */
import type { ServiceBroker } from "moleculer";
import { loadConfig } from "../../platform/config";
import { parseServiceId, parseSubsystemId, type ServiceParts } from "../../catalogue/identifiers";
import { natsBroker, noHub, reaches } from "./hub";
import { UsageError } from "./usage";

/** How long the CLI waits for one answer of the hub. */
const CALL_TIMEOUT_MS = 30_000;
/** What a Moleculer request packet adds around its params (ids, meta, tracing), generously. */
const PACKET_OVERHEAD_BYTES = 2048;

export interface Catalogue {
  call<T>(action: string, params?: object): Promise<T>;
}

/** A message carrying a document: its params and the document's size, to compare with the server's max_payload. */
export interface Carrying {
  params: object;
  documentBytes: number;
}

/** The server's max_payload, as it announced it when the CLI connected (undefined if unknown). */
function maxPayloadOf(broker: ServiceBroker): number | undefined {
  const tx = broker.transit?.tx as unknown as { client?: { info?: { max_payload?: number } } } | undefined;
  return tx?.client?.info?.max_payload;
}

function checkPayload(broker: ServiceBroker, carrying: Carrying, env: NodeJS.ProcessEnv): void {
  const max = maxPayloadOf(broker);
  const bytes = Buffer.byteLength(JSON.stringify(carrying.params)) + PACKET_OVERHEAD_BYTES;
  if (max === undefined || bytes <= max) return;
  throw new Error(
    `the document is ${carrying.documentBytes} bytes, and the message carrying it about ${bytes}: more than the ${max} bytes ` +
      `the NATS server at ${loadConfig(env).natsUrl} takes in one message (its max_payload). Raise max_payload in that server's ` +
      `configuration (the hub's stacks use 8MB; see docs/configuration.md, "External NATS").`,
  );
}

/**
 * Runs `use` with the catalogue of the running hub; says so plainly when no hub answers. `env`:
 * the settings of the hub to reach (the stacks register their agencies with their own).
 */
export async function withCatalogue<T>(use: (catalogue: Catalogue) => Promise<T>, carrying?: Carrying, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const broker = await natsBroker(env);
  if (!broker) throw noHub(env);
  try {
    if (carrying) checkPayload(broker, carrying, env);
    if (!(await reaches(broker, "catalogue")))
      throw new Error(`${noHub(env).message} (Services and access rights change through the hub only: it tells every gateway.)`);
    return await use({ call: (action, params = {}) => broker.call(`catalogue.${action}`, params, { timeout: CALL_TIMEOUT_MS }) });
  } finally {
    await broker.stop().catch(() => {});
  }
}

/** An error as the hub sends it over NATS: HubError's type (HUB_ERR_...), status code, message and data.errors. */
interface Refusal {
  message: string;
  code?: number;
  type?: string;
  data?: { errors?: { in?: string; pointer?: string; detail?: string }[] };
}

const isRefusal = (err: unknown): err is Refusal => typeof (err as Refusal)?.type === "string" && (err as Refusal).type!.startsWith("HUB_ERR_");

/** One line for the message, then one per problem with its JSON pointer. */
export function refusalText(err: Refusal): string {
  const problems = (err.data?.errors ?? []).map((e) => `  ${e.pointer || "(the whole document)"}: ${e.detail ?? "is invalid"}`);
  return [err.message.replace(/, listed in errors\)$/, ", listed below)"), ...problems].join("\n");
}

/**
 * Runs a subcommand; a refusal (the hub's, or the document's checked here) is printed as one
 * message and its pointers (JSON on stdout with --json) and exits 1. Other errors go on.
 */
export async function reportingRefusals(json: boolean, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (!isRefusal(err)) throw err;
    if (json) console.log(JSON.stringify({ error: { type: err.type, status: err.code, message: err.message, errors: err.data?.errors ?? [] } }, null, 2));
    else console.error(refusalText(err));
    process.exitCode = 1;
  }
}

/** A service id in its parts (the params of the catalogue's service actions); a malformed one is a usage error. */
export function serviceRef(id: string | undefined, help: string): ServiceParts {
  if (!id) throw new UsageError(`Name one service id.\n\n${help}`);
  try {
    return parseServiceId(id);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}.\n\n${help}`);
  }
}

export function subsystemId(id: string, option: string, help: string): string {
  try {
    parseSubsystemId(id);
    return id;
  } catch (err) {
    throw new UsageError(`${option}: ${(err as Error).message}.\n\n${help}`);
  }
}
