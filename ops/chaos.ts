/**
 * `npm run chaos`: kills and restarts the pieces of a production-shaped cluster one at a time
 * under a steady load, then proves nothing was lost or done twice (ops/chaos/run.ts).
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../platform/config";
import { build } from "./build";
import { runChaos, SYNC_TARGET } from "./chaos/run";
import { shiftedPorts } from "./stack/cluster";
import { MissingPieceError } from "./stack/provision";

const DEFAULTS = { cycles: 3, down: 5, heal: 15, rate: 10, "port-offset": 16_000 };
const HELP = `Usage: npm run chaos [-- --cycles N] [--down S] [--heal S] [--rate R] [--port-offset N] [--no-build]

Builds the hub, starts a cluster of its own (npm run cluster's shape: 3 NATS nodes, the Temporal
server on PostgreSQL, 2 gateways behind HAProxy, 2 adapter nodes, 2 workers) with every port
moved by --port-offset (default ${DEFAULTS["port-offset"]}, so it runs beside npm start), and sends a steady
mix of identity verifications, e-ID linkage starts and incident reports (--rate a second,
default ${DEFAULTS.rate}) through the load balancer. Each cycle (--cycles, default ${DEFAULTS.cycles}) kills with SIGKILL, one
at a time, a NATS node, a gateway, an adapter node and a worker (each dead --down seconds,
default ${DEFAULTS.down}), then restarts PostgreSQL and the Temporal server, with --heal seconds (default ${DEFAULTS.heal})
of steady load after each. Then it checks every 2xx answer's effect and audit record, that each
accepted linkage completed exactly once, each event was acted on once per group, the audit
chain, and the dead-letter stream; and that at least ${SYNC_TARGET * 100} % of the identity verifications sent
during the NATS-node and gateway kills were answered 2xx. Prints a report per fault (also in
$HUB_DATA_DIR/chaos/chaos-report.md); exits 1 when a check fails. One cycle takes about 3 minutes.`;

const say = (line: string) => console.log(`[chaos] ${line}`);

function number(values: Record<string, unknown>, name: keyof typeof DEFAULTS): number {
  const raw = values[name] ?? DEFAULTS[name];
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(`--${name} wants a number, not ${String(raw)}\n\n${HELP}`);
  return n;
}

async function main(): Promise<number> {
  const options = Object.fromEntries(Object.keys(DEFAULTS).map((k) => [k, { type: "string" as const }]));
  const { values } = parseArgs({ options: { ...options, "no-build": { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  if (values.help) return (console.log(HELP), 0);
  if (!values["no-build"]) {
    say("building dist/ (npm run build, about a minute)");
    await build();
  }
  const result = await runChaos({
    cycles: Math.max(1, Math.round(number(values, "cycles"))),
    downMs: number(values, "down") * 1000,
    healMs: number(values, "heal") * 1000,
    perSecond: number(values, "rate"),
    ports: shiftedPorts(number(values, "port-offset")),
    dataDir: path.resolve(loadConfig().dataDir, "chaos"),
    say,
  });
  console.log(`\n${result.markdown}\n`);
  say(result.passed ? "passed" : "FAILED: see the checks above");
  return result.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof ConfigError || err instanceof MissingPieceError ? `\n${err.message}\n` : err);
    process.exit(1);
  },
);
