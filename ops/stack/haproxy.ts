/**
 * HAProxy from Debian's `haproxy` package (2.6), installed when missing as the stack's other
 * Debian tools are: the load balancer in front of the cluster's gateways (issue 23).
 */
import { execFileSync } from "node:child_process";
import { ensureDebianPackage } from "./debian";

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
