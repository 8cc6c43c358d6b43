/**
 * The floor the hub's sync path is measured against: the least a REST → NATS → action → agency
 * pipeline can do on this machine. A moleculer-web gateway (JSON body parser) in one process and
 * one action in a second, over the bench stack's NATS with the hub's transporter and serializer,
 * the action calling the civil-registry sandbox's person check (the endpoint the hub's identity
 * verification ends up calling) with Node's global fetch, which keeps connections alive by default
 * (undici's global agent). No validation, no quota, no audit, no logs: whatever the hub spends
 * beyond this is its own. `POST /memory` answers from memory, without the sandbox.
 *
 * Run by the bench as two child processes (`floor.ts gateway`, `floor.ts action`), so their CPU
 * time can be read from /proc as the hub's is.
 */
import path from "node:path";
import { ServiceBroker, type Context } from "moleculer";
import ApiGateway from "moleculer-web";
import { spawnManaged, stopAll, waitFor, type Managed } from "../stack/processes";
import { loadConfig } from "../../platform/config";
import { natsAuth, natsServers } from "../../platform/nats-auth";

const NAMESPACE = "bench-floor";
export const FLOOR_PORT = 23002;

interface Check {
  idNumber: string;
  name: string;
}

function broker(role: string, natsUrl: string): ServiceBroker {
  return new ServiceBroker({
    namespace: NAMESPACE,
    nodeID: `floor-${role}-${process.pid}`,
    transporter: { type: "NATS", options: { servers: natsServers(natsUrl), ...natsAuth(loadConfig()) } },
    serializer: "JSON",
    logger: { type: "Console", options: { level: "warn" } },
  });
}

function actionService(b: ServiceBroker, registryUrl: string): void {
  b.createService({
    name: "floor",
    actions: {
      async verify(ctx: Context<Check>) {
        const res = await fetch(`${registryUrl}/registry/v2/person-checks`, {
          method: "POST",
          headers: { accept: "application/json", "content-type": "application/json" },
          body: JSON.stringify({ citizenNo: ctx.params.idNumber, fullName: ctx.params.name }),
        });
        const body = (await res.json()) as { checkResult?: string };
        if (res.status !== 200) throw new Error(`the sandbox answered ${res.status}`);
        return { match: body.checkResult === "CONSISTENT" };
      },
      memory: () => ({ match: true }),
    },
  });
}

function gatewayService(b: ServiceBroker, port: number): void {
  b.createService({
    name: "floor-gateway",
    mixins: [ApiGateway],
    settings: {
      port,
      ip: "127.0.0.1",
      logRequest: null,
      logResponse: null,
      routes: [
        { path: "/", mappingPolicy: "restrict", bodyParsers: { json: true }, aliases: { "POST verify": "floor.verify", "POST memory": "floor.memory" } },
      ],
    },
  });
}

/** One of the floor's two processes, by its role on the command line. */
async function runRole(role: string): Promise<void> {
  const natsUrl = process.env.NATS_URL!;
  const b = broker(role, natsUrl);
  if (role === "action") actionService(b, process.env.CIVIL_REGISTRY_URL!);
  else if (role === "gateway") gatewayService(b, Number(process.env.FLOOR_PORT ?? FLOOR_PORT));
  else throw new Error(`floor.ts gateway|action, not ${role}`);
  const stop = () => void b.stop().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  await b.start();
  if (role === "gateway") await b.waitForServices(["floor"], 30_000);
}

export interface Floor {
  url: string;
  /** The gateway's and the action's process ids, for their CPU time. */
  pids: number[];
  stop(): Promise<void>;
}

const live = new Set<Floor>();

/** Stops every floor still running (a bench interrupted by Ctrl-C). */
export async function stopFloors(): Promise<void> {
  await Promise.all([...live].map((floor) => floor.stop()));
}

/** Starts the floor's two processes on the stack's NATS and sandbox; ready when a call goes through. */
export async function startFloor(env: NodeJS.ProcessEnv, logDir: string): Promise<Floor> {
  const url = `http://127.0.0.1:${FLOOR_PORT}`;
  const started: Managed[] = [];
  const spawnRole = (role: string) =>
    spawnManaged({
      name: `floor-${role}`,
      command: process.execPath,
      args: ["--import", "tsx", __filename, role],
      env: { ...env, FLOOR_PORT: String(FLOOR_PORT) },
      logDir,
    });
  // Known to stopFloors from the moment it spawns, so a Ctrl-C while it starts stops it too.
  let stopped: Promise<void> | undefined;
  // One stop however many ask (the run's own end and a Ctrl-C may both), out of `live` once done.
  const stop = () => (stopped ??= stopAll(started).finally(() => live.delete(floor)));
  const floor: Floor = { url, pids: [], stop };
  live.add(floor);
  try {
    for (const role of ["action", "gateway"]) started.push(spawnRole(role));
    floor.pids = started.map((s) => s.child!.pid!);
    const answers = async () => (await fetch(`${url}/memory`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).ok;
    await waitFor("the floor", answers, 60_000, started[1]!.child, path.join(logDir, "floor-gateway.log"));
  } catch (err) {
    await floor.stop();
    throw err;
  }
  return floor;
}

if (require.main === module) {
  runRole(process.argv[2] ?? "").catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
