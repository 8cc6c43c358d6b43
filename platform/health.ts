/**
 * Liveness and readiness of a hub node. Ready means every dependency of the node's services
 * answers now: NATS (a round trip through the transporter's connection), PostgreSQL (a query)
 * and, for a node that starts or runs linkages, Temporal (its health service). A gateway does
 * not call Temporal, so a load balancer keeps sending it requests while Temporal restarts.
 */
import type { ServiceBroker } from "moleculer";
import client from "prom-client";
import { sampled } from "./metrics";
import type { NatsConnection } from "nats";
import type { Db } from "./db";
import type { Config, ServiceRole } from "./config";
import { temporal } from "./temporal";

const CHECK_TIMEOUT_MS = 1500;
/** The services that talk to Temporal: the linkages' client and the worker. */
const TEMPORAL_ROLES: ServiceRole[] = ["linkages", "worker"];

export interface Health {
  status: "ok" | "unavailable";
  node: string;
  checks?: Record<string, { status: "up" | "down"; detail?: string }>;
}

export interface HealthDeps {
  broker: ServiceBroker;
  config: Config;
  db?: Db;
  /** Ready only between the end of start-up and the start of shutdown. */
  phase: () => "starting" | "running" | "stopping";
}

function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    work.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))),
  ]);
}

export async function readiness(deps: HealthDeps): Promise<Health> {
  const { broker, config, db } = deps;
  const checks: Record<string, () => Promise<unknown>> = {
    nats: async () => {
      const nc = (broker.transit?.tx as unknown as { client?: NatsConnection } | undefined)?.client;
      if (!nc || nc.isClosed()) throw new Error("not connected");
      await nc.rtt();
    },
  };
  if (config.services.some((role) => TEMPORAL_ROLES.includes(role)))
    checks.temporal = async () => {
      const { connection } = temporal(config);
      await connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => connection.healthService.check({}));
    };
  if (db) checks.postgres = () => db.query("SELECT 1");

  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await within(CHECK_TIMEOUT_MS, check());
        return [name, { status: "up" as const }] as const;
      } catch (err) {
        return [name, { status: "down" as const, detail: (err as Error).message }] as const;
      }
    }),
  );
  const phase = deps.phase();
  if (phase !== "running") results.push(["node", { status: "down", detail: phase === "starting" ? "starting" : "shutting down" }] as never);
  const ok = results.every(([, r]) => r.status === "up");
  return { status: ok ? "ok" : "unavailable", node: broker.nodeID, checks: Object.fromEntries(results) };
}

/**
 * `hub_ready` and `hub_dependency_up`, from this node's readiness at scrape time (one check
 * serves both gauges of a scrape). `readinessOf` names the node's readiness once it exists.
 */
let readinessOf: (() => Promise<Health>) | undefined;
const current = sampled(1000, async () => readinessOf?.());
export const reportReadiness = (check: () => Promise<Health>) => void (readinessOf = check);

new client.Gauge({
  name: "hub_ready",
  help: "This node is ready (its /readyz answers 200): 1, else 0",
  async collect() {
    const health = await current();
    if (health) this.set(health.status === "ok" ? 1 : 0);
  },
});
new client.Gauge({
  name: "hub_dependency_up",
  help: "A dependency answered this node's readiness check (1) or not (0): nats, temporal, postgres",
  labelNames: ["dependency"] as const,
  async collect() {
    const health = await current();
    for (const [dependency, check] of Object.entries(health?.checks ?? {})) if (dependency !== "node") this.set({ dependency }, check.status === "up" ? 1 : 0);
  },
});
