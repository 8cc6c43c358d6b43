/**
 * Where the hub forwards calls: http(s) only; loopback is allowed (sandboxes and test providers
 * live there) except the hub's own listening ports; link-local (169.254.0.0/16, fe80::/10),
 * "this network" (0.0.0.0/8, ::) and multicast (224.0.0.0/4, ff00::/8) never. Checked when a
 * service is registered and again on the address each connection actually goes to (its DNS
 * lookup), so a name that later resolves elsewhere is caught.
 */
import dns from "node:dns";
import net from "node:net";
import type { LookupFunction } from "node:net";
import { HubError } from "../platform/errors";

const forbidden = new net.BlockList();
forbidden.addSubnet("0.0.0.0", 8, "ipv4");
forbidden.addSubnet("169.254.0.0", 16, "ipv4");
forbidden.addSubnet("224.0.0.0", 4, "ipv4");
forbidden.addAddress("::", "ipv6");
forbidden.addSubnet("fe80::", 10, "ipv6");
forbidden.addSubnet("ff00::", 8, "ipv6");

const loopback = new net.BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

/** An IPv4 address written as IPv6 (`::ffff:169.254.1.1`) is judged as the IPv4 address it is. */
const unmapped = (address: string) => address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");

/** Why the hub will not connect to `address` on `port`, or undefined. */
export function refusedAddress(address: string, port: number, ownPorts: readonly number[]): string | undefined {
  const ip = unmapped(address);
  const family = net.isIPv4(ip) ? "ipv4" : "ipv6";
  if (forbidden.check(ip, family)) return `${address} is a link-local, unspecified or multicast address`;
  if (loopback.check(ip, family) && ownPorts.includes(port)) return `${address}:${port} is the hub itself`;
  return undefined;
}

const portOf = (url: URL) => Number(url.port || (url.protocol === "https:" ? 443 : 80));

/** A base URL the hub may call: http(s), and, when it names an address or its name resolves now, an allowed one. */
export async function checkBaseUrl(raw: string, ownPorts: readonly number[]): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HubError("HUB_ERR_REQUEST_UNPROCESSABLE", `The base URL ${raw} is not a URL`);
  }
  if (!["http:", "https:"].includes(url.protocol))
    throw new HubError("HUB_ERR_REQUEST_UNPROCESSABLE", `The base URL must be http or https, not ${url.protocol}`);
  if (url.username || url.password || url.search || url.hash)
    throw new HubError("HUB_ERR_REQUEST_UNPROCESSABLE", "The base URL carries no credentials, query or fragment (credentials go in --auth)");
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const addresses = net.isIP(host)
    ? [host]
    : await dns.promises.lookup(host, { all: true }).then(
        (list) => list.map((a) => a.address),
        () => [],
      );
  for (const address of addresses) {
    const reason = refusedAddress(address, portOf(url), ownPorts);
    if (reason) throw new HubError("HUB_ERR_REQUEST_UNPROCESSABLE", `The base URL ${raw} is refused: ${reason}`);
  }
  return url;
}

/** A DNS lookup for outgoing connections that fails on a refused address (literal addresses are checked before connecting). */
export function guardedLookup(port: number, ownPorts: readonly number[]): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, list) => {
      if (err) return (callback as (e: Error | null, a: string, f?: number) => void)(err, "", undefined);
      const refused = list.map((a) => refusedAddress(a.address, port, ownPorts)).find(Boolean);
      if (refused)
        return (callback as (e: Error | null, a: string, f?: number) => void)(new AddressRefused(`${hostname} resolves to ${refused}`), "", undefined);
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      (callback as (e: null, a: string, f: number) => void)(null, list[0]!.address, list[0]!.family);
    });
  };
}

export class AddressRefused extends Error {}
