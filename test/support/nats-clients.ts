/**
 * Clients of the hub's NATS service that are not Moleculer: a plain nats.js connection, the
 * Python probe (test/nats-clients/probe.py, nats-py), natscli and the examples in
 * docs/examples/nats/. Each plain client tries the same cases and names what happened in the
 * same words, so one table of expectations holds for both.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { connect, credsAuthenticator, ErrorCode, Events, headers as natsHeaders, NatsError, type ConnectionOptions, type NatsConnection } from "nats";

export const ROOT = path.resolve(__dirname, "../..");
export const EXAMPLES = path.join(ROOT, "docs/examples/nats");
const PROBE = path.join(ROOT, "test/nats-clients/probe.py");
/** The server's -ERR for a refused publish or subscription comes asynchronously. */
const VIOLATION_WAIT_MS = 1500;

export type Case = {
  case: string;
  kind: "request" | "publish" | "subscribe";
  subject: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** A body of this many bytes instead of `body`. */
  bodyBytes?: number;
};
export type Outcome = {
  case: string;
  /** ok | error <HTTP status> | no-responders | max-payload | timeout | permission-violation | accepted | connect-refused */
  outcome: string;
  title?: string;
  body?: unknown;
  detail?: unknown;
};
export type ClientOptions = { server: string; creds?: string; inboxPrefix?: string };

export type Run = { code: number | null; output: string };
export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env }, stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, output }));
    child.stdin.end(options.input ?? "");
  });
}

/** A NATS user made as an operator makes one: `npx linkage-hub nats add-user`; its .creds file's path. */
export async function addNatsUser(name: string, role: "caller" | "consumer" | "device", more: string[] = []): Promise<string> {
  const made = await run(process.execPath, [path.join(ROOT, "bin/linkage-hub.js"), "nats", "add-user", name, "--role", role, ...more]);
  const creds = made.output.match(/\S+\.creds\b/)?.[0];
  if (made.code !== 0 || !creds || !fs.existsSync(creds))
    throw new Error(
      `npx linkage-hub nats add-user ${name} --role ${role} made no .creds file (exit ${made.code}); NATS auth (issue 18 item 2) missing?\n${made.output}`,
    );
  return creds;
}

export async function pythonClient(python: string, options: ClientOptions, cases: Case[]): Promise<Outcome[]> {
  const args = [PROBE, "--server", options.server];
  if (options.creds) args.push("--creds", options.creds);
  if (options.inboxPrefix) args.push("--inbox-prefix", options.inboxPrefix);
  const probe = await run(python, args, { input: JSON.stringify(cases) });
  if (probe.code !== 0) throw new Error(`probe.py failed (exit ${probe.code}):\n${probe.output}`);
  return JSON.parse(probe.output.trim().split("\n").at(-1)!) as Outcome[];
}

export async function plainClient(options: ClientOptions, cases: Case[]): Promise<Outcome[]> {
  const connection: ConnectionOptions = { servers: options.server, reconnect: false, ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}) };
  if (options.creds) connection.authenticator = credsAuthenticator(fs.readFileSync(options.creds));
  let nc: NatsConnection;
  try {
    nc = await connect(connection);
  } catch (err) {
    return cases.map((c) => ({ case: c.case, outcome: "connect-refused", detail: String(err) }));
  }
  const violations: string[] = [];
  void (async () => {
    for await (const status of nc.status())
      if (status.type === Events.Error && status.data === ErrorCode.PermissionsViolation) violations.push(JSON.stringify(status.permissionContext));
  })();
  const violated = async (act: () => void): Promise<Omit<Outcome, "case">> => {
    const before = violations.length;
    act();
    await nc.flush();
    await new Promise((r) => setTimeout(r, VIOLATION_WAIT_MS));
    return { outcome: violations.length > before ? "permission-violation" : "accepted", detail: violations.slice(before) };
  };
  const results: Outcome[] = [];
  try {
    for (const c of cases) {
      const result =
        c.kind === "request"
          ? await plainRequest(nc, c)
          : c.kind === "publish"
            ? await violated(() => nc.publish(c.subject, "{}"))
            : await violated(() => void nc.subscribe(c.subject, { callback: () => undefined }));
      results.push({ case: c.case, ...result });
    }
  } finally {
    await nc.close();
  }
  return results;
}

/** The largest message the server takes (its INFO's max_payload): beyond it, clients refuse to send. */
export async function maxPayload(options: ClientOptions): Promise<number> {
  const nc = await connect({ servers: options.server, ...(options.creds ? { authenticator: credsAuthenticator(fs.readFileSync(options.creds)) } : {}) });
  try {
    return nc.info!.max_payload;
  } finally {
    await nc.close();
  }
}

async function plainRequest(nc: NatsConnection, c: Case): Promise<Omit<Outcome, "case">> {
  const h = natsHeaders();
  for (const [k, v] of Object.entries(c.headers ?? {})) h.set(k, v);
  const data = c.bodyBytes !== undefined ? Buffer.alloc(c.bodyBytes, "x") : Buffer.from(JSON.stringify(c.body ?? {}));
  try {
    const reply = await nc.request(c.subject, data, { timeout: 10_000, headers: h });
    const body = reply.data.length ? (JSON.parse(Buffer.from(reply.data).toString()) as unknown) : undefined;
    const code = reply.headers?.get("Nats-Service-Error-Code");
    if (code) return { outcome: `error ${code}`, title: reply.headers!.get("Nats-Service-Error"), body };
    return { outcome: "ok", body };
  } catch (err) {
    const code = (err as NatsError).code;
    if (code === ErrorCode.NoResponders) return { outcome: "no-responders" };
    if (code === ErrorCode.MaxPayloadExceeded) return { outcome: "max-payload" };
    if (code === ErrorCode.Timeout) return { outcome: "timeout" };
    throw err;
  }
}
