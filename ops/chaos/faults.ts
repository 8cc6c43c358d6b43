/**
 * The faults of a chaos cycle, one at a time: a NATS node, a gateway, an adapter node and a
 * worker killed with SIGKILL and started again, then PostgreSQL and the Temporal server
 * restarted. Each resolves once the piece is back; the driver then waits for the hub to heal.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Cluster, Role } from "../stack/cluster";
import { killHard } from "../stack/processes";

export type FaultKind = "nats-node" | "gateway" | "adapter" | "worker" | "postgres" | "temporal";

export interface Fault {
  kind: FaultKind;
  /** Sets the fault off and resolves, naming what it hit ("nats n2", "gateway-1"), once the piece is back (after `downMs` for a killed process). */
  run(cluster: Cluster, downMs: number): Promise<string>;
}

const killNode = (role: Role, cycle: number): Fault => ({
  kind: role,
  async run(cluster, downMs) {
    const nodes = cluster.nodes.filter((n) => n.role === role);
    const node = nodes[cycle % nodes.length]!;
    await node.process.kill();
    await sleep(downMs);
    await node.process.restart();
    return node.name;
  },
});

/** The six faults of cycle `cycle` (from 0); a later cycle hits the next node of each kind. */
export function faultsOf(cycle: number): Fault[] {
  const natsNode = cycle % 3;
  return [
    {
      kind: "nats-node",
      async run(cluster, downMs) {
        await killHard(cluster.nats.processes[natsNode]!);
        await sleep(downMs);
        await cluster.nats.restart(natsNode);
        return `nats ${cluster.nats.nodes[natsNode]!.serverName}`;
      },
    },
    killNode("gateway", cycle),
    killNode("adapter", cycle),
    killNode("worker", cycle),
    {
      kind: "postgres",
      run: async (cluster) => {
        if (!cluster.postgres) throw new Error("chaos restarts the cluster's own PostgreSQL: run it without DATABASE_URL");
        await cluster.postgres.restart();
        return "postgresql";
      },
    },
    { kind: "temporal", run: async (cluster) => (await cluster.temporal.restart(), "temporal server") },
  ];
}
