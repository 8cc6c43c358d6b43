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
  /** Where this node counts calls, linkage ends and health probes for the catalogue's figures. */
  tally: ServiceTally;
}

/**
 * Counts for the catalogue's figures (kept in memory, written in batches by
 * catalogue/service-days.ts). Every method is cheap and never throws: counting must not fail
 * the work it counts.
 */
export interface ServiceTally {
  /** A call to a registered catalogue service ended: completed (no hub or provider error) or not, after `ms`. */
  called(serviceId: string, completed: boolean, ms: number): void;
  /** A linkage of this type ended, COMPLETED or otherwise, `ms` after it started. */
  linkageEnded(linkageType: string, completed: boolean, ms: number): void;
  /** A health probe of a registered catalogue service. */
  probed(serviceId: string, up: boolean): void;
  /** A health probe of a built-in agency: it counts for each of its operations (operationIds; others are ignored). */
  agencyProbed(operationIds: readonly string[], up: boolean): void;
}
