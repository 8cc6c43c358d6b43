/**
 * Nodes gone without a goodbye, learnt from NATS at once. A node killed with SIGKILL (or its
 * machine lost) sends Moleculer no DISCONNECT: the others keep sending it calls until its
 * heartbeats are missed (6 to 12 s), and each such call waits out its timeout. Its NATS server
 * sees the connection close at once and says so in the system account
 * (`$SYS.ACCOUNT.<account>.DISCONNECT`, with the client's name, which is the node id). A client
 * that comes back within the grace (its server stopped and it moved to another) has not gone.
 */
import type { NatsConnection } from "nats";

export const CLIENT_CONNECTS = "$SYS.ACCOUNT.*.CONNECT";
export const CLIENT_DISCONNECTS = "$SYS.ACCOUNT.*.DISCONNECT";
/** How long a client whose connection closed has to connect again before it counts as gone. */
export const DEPARTURE_GRACE_MS = 1500;

/** Tells `onGone` of each client name that disconnected and did not connect again within `graceMs`. */
export function departures(onGone: (name: string) => void, graceMs = DEPARTURE_GRACE_MS) {
  const lastConnect = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  return {
    connected(name: string, at = Date.now()) {
      lastConnect.set(name, at);
    },
    disconnected(name: string, at = Date.now()) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if ((lastConnect.get(name) ?? 0) < at) onGone(name);
      }, graceMs);
      timers.add(timer);
    },
    stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}

/** Follows the connect and disconnect advisories on `nc` (a system account connection) and reports departed client names. */
export function watchDepartures(nc: NatsConnection, onGone: (name: string) => void): () => void {
  const watch = departures(onGone);
  const nameOf = (data: Uint8Array) => (JSON.parse(new TextDecoder().decode(data)) as { client?: { name?: string } }).client?.name;
  const follow = (subject: string, seen: (name: string) => void) =>
    nc.subscribe(subject, {
      callback: (err, msg) => {
        const name = err ? undefined : nameOf(msg.data);
        if (name) seen(name);
      },
    });
  const subs = [follow(CLIENT_CONNECTS, (n) => watch.connected(n)), follow(CLIENT_DISCONNECTS, (n) => watch.disconnected(n))];
  return () => {
    for (const s of subs) s.unsubscribe();
    watch.stop();
  };
}
