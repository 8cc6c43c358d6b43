/**
 * What every service of a hub node stands on: its configuration, broker, database, event bus
 * and outbox, and its readiness. Built once per process by the composition root (hub/node.ts),
 * which hands it to each service factory; services never build their own.
 */
import type { ServiceBroker } from "moleculer";
import type { Config } from "./config";
import type { Db } from "./db";
import type { EventBus } from "./events/bus";
import type { OutboxRelay } from "./events/outbox";
import type { Health } from "./health";

export interface HubNode {
  config: Config;
  broker: ServiceBroker;
  db: Db;
  bus: EventBus;
  /** Events written with a database change (enqueue in its transaction) are published by this. */
  outbox: OutboxRelay;
  readiness(): Promise<Health>;
}
