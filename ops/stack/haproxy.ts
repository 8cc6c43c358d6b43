/**
 * HAProxy from Debian's `haproxy` package (2.6), installed when missing as the stack's other
 * Debian tools are: the load balancer in front of the cluster's gateways (issue 23).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ensureDebianPackage } from "./debian";
import { spawnManaged, tcpReachable, waitFor, type Managed } from "./processes";

export const HAPROXY = "/usr/sbin/haproxy";

/** The path of haproxy, installing Debian's package first when it is missing. */
export async function ensureHaproxy(say: (line: string) => void = console.log): Promise<string> {
  const help = "Install Debian's haproxy package (as root: apt-get update && apt-get install -y --no-install-recommends haproxy).";
  await ensureDebianPackage("haproxy", [HAPROXY], help, say);
  return HAPROXY;
}

/** The version haproxy reports (`2.6.12-1+deb12u4`, say). */
export function haproxyVersion(bin = HAPROXY): string {
  const line = execFileSync(bin, ["-v"], { encoding: "utf8" }).split("\n")[0] ?? "";
  return /version (\S+)/.exec(line)?.[1] ?? line;
}

export interface LoadBalancer {
  /** The partners' address: the gateways behind it. */
  port: number;
  /** HAProxy's own page (`/stats`) and its Prometheus metrics (`/metrics`). */
  statsPort: number;
  /** The gateways, as host:port. */
  gateways: string[];
}

/**
 * HAProxy in front of the gateways. A gateway is in rotation while its /readyz answers 200
 * (checked every second, out after 2 failures); a request whose connection fails or whose
 * gateway dies before answering is sent again, to another gateway (`retry-on`, `redispatch`),
 * so a gateway killed mid-request costs the client nothing. The hub's POSTs may be sent twice
 * safely: verifications are reads, linkages and incidents are keyed by business key.
 */
export function haproxyConfig(lb: LoadBalancer): string {
  return `global
  maxconn 4096

defaults
  mode http
  timeout connect 1s
  timeout client 60s
  timeout server 30s
  timeout http-request 10s
  retries 3
  retry-on conn-failure empty-response
  option redispatch 1

frontend hub
  bind 127.0.0.1:${lb.port}
  default_backend gateways

frontend stats
  bind 127.0.0.1:${lb.statsPort}
  http-request use-service prometheus-exporter if { path /metrics }
  stats enable
  stats uri /stats

backend gateways
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server check inter 1s fall 2 rise 2
${lb.gateways.map((g, i) => `  server gateway-${i + 1} ${g}`).join("\n")}
`;
}

/** HAProxy with `haproxyConfig(lb)`, in the foreground as a managed process; resolves once it accepts connections. */
export async function startHaproxy(lb: LoadBalancer, dataDir: string, say: (line: string) => void): Promise<Managed> {
  const bin = await ensureHaproxy(say);
  const configFile = path.join(dataDir, "haproxy.cfg");
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(configFile, haproxyConfig(lb));
  execFileSync(bin, ["-c", "-q", "-f", configFile]);
  const service = spawnManaged({ name: "haproxy", command: bin, args: ["-db", "-f", configFile], logDir: path.join(dataDir, "logs") });
  await waitFor("haproxy", () => tcpReachable("127.0.0.1", lb.port), 10_000, service.child, service.logFile);
  say(`haproxy ${haproxyVersion(bin)}: http://127.0.0.1:${lb.port} → ${lb.gateways.join(", ")} (stats http://127.0.0.1:${lb.statsPort}/stats)`);
  return service;
}
