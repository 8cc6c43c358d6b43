/**
 * Hub nodes for integration tests: real processes on the suite's NATS, Temporal and
 * PostgreSQL (see ops/test.ts), each test in a namespace and task queue of its own.
 */
import { randomBytes } from "node:crypto";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import fs from "node:fs";
import { ServiceBroker } from "moleculer";
import { Client, Connection } from "@temporalio/client";
import { startHubNode } from "../../ops/stack/services";
import type { Managed } from "../../ops/stack/processes";
import { signRequestsTo } from "./partner";
import { loadConfig } from "../../platform/config";
import { natsAuth } from "../../platform/nats-auth";
import { hubDataConverter } from "../../platform/payload-codec";
import { sandboxCitizens } from "../../ops/chaos/sandboxes";

/**
 * A port free now for a process the test starts next. Taken below the kernel's ephemeral
 * range (32768-60999), so that neither an outgoing connection nor a server asking for "any
 * free port" (the Temporal dev server's HTTP API does) can take it before that process binds.
 */
const handedOut = new Set<number>();
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 30000 + Math.floor(Math.random() * 2700);
    if (handedOut.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer().once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (free) {
      handedOut.add(port);
      return port;
    }
  }
}

export interface TestNode {
  url: string;
  service: Managed;
  stop(): Promise<void>;
}

/** A cluster id: nodes given the same one find each other over NATS and share a task queue. */
export function clusterEnv(): NodeJS.ProcessEnv {
  const id = randomBytes(4).toString("hex");
  return { HUB_NAMESPACE: `test-${id}`, TEMPORAL_TASK_QUEUE: `linkages-test-${id}` };
}

/** Node logs go with the run's state (HUB_DATA_DIR), where the final log scan reads them. */
const logRoot = path.join(process.env.HUB_DATA_DIR ?? os.tmpdir(), "node-logs");
fs.mkdirSync(logRoot, { recursive: true });
export const logDir = fs.mkdtempSync(path.join(logRoot, "run-"));

export async function startNode(services: string, env: NodeJS.ProcessEnv): Promise<TestNode> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const name = `${services.replace(/,/g, "+")}-${port}`;
  const gateway = services === "all" || services.split(",").includes("api");
  const nodeEnv = gateway ? { HUB_PORT: String(port) } : { HUB_METRICS_PORT: String(port) };
  // The worker's SDK metrics port is one per machine: off unless a test asks for it.
  const service = await startHubNode(
    name,
    { HUB_WORKER_METRICS_PORT: "off", ...env, ...nodeEnv, HUB_SERVICES: services, HUB_NODE_ID: name },
    `${url}/readyz`,
    logDir,
  );
  if (gateway) signRequestsTo(url);
  return { url, service, stop: () => service.stop() };
}

export interface Citizen {
  citizenNo: string;
  fullName: string;
}

/** Fresh synthetic citizens from the suite's civil-registry sandbox. */
export const seedCitizens = (count: number, registryUrl = process.env.CIVIL_REGISTRY_URL!): Promise<Citizen[]> => sandboxCitizens(registryUrl, count);

export async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

/** Polls a linkage until it leaves RUNNING. */
export async function settle(url: string, timeoutMs = 30_000, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await json(await fetch(url, { headers }));
    if (body.status !== "RUNNING") return body;
    if (Date.now() > deadline) throw new Error(`linkage still RUNNING after ${timeoutMs} ms: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A broker of the test's own in a cluster's namespace, to call its actions over NATS as an internal service would. */
export async function callerBroker(namespace: string, services: string[], name = "test"): Promise<ServiceBroker> {
  const broker = new ServiceBroker({
    namespace,
    nodeID: `${name}-${process.pid}-${randomBytes(3).toString("hex")}`,
    transporter: { type: "NATS", options: { url: process.env.NATS_URL, ...natsAuth(loadConfig()) } },
    logger: false,
  });
  await broker.start();
  await broker.waitForServices(services, 10_000);
  return broker;
}

/** A Temporal client of the test's own that reads the hub's linkages as the hub does (their payloads and memos are encrypted); close its connection after. */
export async function hubTemporalClient(env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  const config = loadConfig(env);
  const connection = await Connection.connect({ address: config.temporalAddress });
  return new Client({ connection, namespace: config.temporalNamespace, dataConverter: hubDataConverter(config) });
}
