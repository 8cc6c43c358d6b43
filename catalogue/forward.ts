/**
 * Calls to one provider: over keep-alive connections whose every DNS answer is checked
 * (address-guard.ts), never following redirects, within the service's timeout, its answer cut
 * at a size limit. The provider's credentials are read from the environment variable its
 * registration names, at call time: never stored, never logged. A redirect is the provider's
 * answer like any other: passed on to the caller, `Location` as sent, when the provider's
 * document declares its status (a 502 when it does not); the hub itself never follows one.
 */
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { HubError } from "../platform/errors";
import { AddressRefused, guardedLookup, refusedAddress } from "./address-guard";

/** A provider's answer beyond this is cut off, and the call is a 502. */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export interface ProviderCall {
  method: string;
  /** The path at the provider, with its query. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface ProviderAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface ProviderSettings {
  id: string;
  baseUrl: string;
  /** `none`, `bearer:env:VAR` or `basic:env:VAR` (`user:password`). */
  auth: string;
  timeoutMs: number;
  ownPorts: readonly number[];
}

export class Provider {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly send: typeof http.request;

  constructor(private readonly settings: ProviderSettings) {
    this.base = new URL(settings.baseUrl);
    const port = Number(this.base.port || (this.base.protocol === "https:" ? 443 : 80));
    const host = this.base.hostname.replace(/^\[|\]$/g, "");
    // A literal address is never looked up: it is judged once, here.
    const literal = net.isIP(host) ? refusedAddress(host, port, settings.ownPorts) : undefined;
    if (literal) throw new HubError("HUB_ERR_PROVIDER_ADDRESS", `${settings.id} is at ${literal}`, { agency: settings.id });
    const options = { keepAlive: true, maxSockets: 64, lookup: guardedLookup(port, settings.ownPorts) };
    this.agent = this.base.protocol === "https:" ? new https.Agent(options) : new http.Agent(options);
    this.send = this.base.protocol === "https:" ? https.request : http.request;
  }

  /** The provider's answer, whatever its status; throws when there is none worth passing on. */
  call(c: ProviderCall): Promise<ProviderAnswer> {
    const { id, timeoutMs } = this.settings;
    const url = new URL(this.base.pathname.replace(/\/$/, "") + c.path, this.base);
    const headers = { ...c.headers, ...this.credentials(), ...(c.body ? { "content-length": String(c.body.length) } : {}) };
    return new Promise<ProviderAnswer>((resolve, reject) => {
      let timedOut = false;
      const failed = (err: Error) =>
        reject(
          timedOut
            ? new HubError("HUB_ERR_AGENCY_TIMEOUT", `${id} did not answer within ${timeoutMs} ms`, { agency: id })
            : err instanceof HubError
              ? err
              : unreachable(id, err),
        );
      const req = this.send(url, { method: c.method, headers, agent: this.agent }, (res) => readAnswer(id, res).then(resolve, failed));
      // One bound on the whole exchange: connecting, waiting, and reading the answer.
      const timer = setTimeout(() => ((timedOut = true), req.destroy()), timeoutMs);
      req.once("close", () => clearTimeout(timer));
      req.once("error", failed);
      req.end(c.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private credentials(): Record<string, string> {
    const [scheme, , variable] = this.settings.auth.split(":");
    if (scheme === "none" || !variable) return {};
    const secret = process.env[variable];
    if (!secret) throw new HubError("HUB_ERR_SERVICE_UNAVAILABLE", `${this.settings.id}: its credentials (${variable}) are not set on this node`);
    return { authorization: scheme === "bearer" ? `Bearer ${secret}` : `Basic ${Buffer.from(secret).toString("base64")}` };
  }
}

function unreachable(id: string, err: Error): HubError {
  if (err instanceof AddressRefused) return new HubError("HUB_ERR_PROVIDER_ADDRESS", `${id}: ${err.message}`, { agency: id });
  return new HubError("HUB_ERR_AGENCY_UNAVAILABLE", `${id} is unreachable`, { agency: id });
}

function readAnswer(id: string, res: http.IncomingMessage): Promise<ProviderAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_ANSWER_BYTES) return void chunks.push(chunk);
      res.destroy();
      reject(new HubError("HUB_ERR_AGENCY_BAD_ANSWER", `${id} answered with more than ${MAX_ANSWER_BYTES} bytes`, { agency: id }));
    });
    res.once("error", () => reject(new HubError("HUB_ERR_AGENCY_UNAVAILABLE", `${id} broke off its answer`, { agency: id })));
    res.once("end", () => {
      const headers = Object.fromEntries(Object.entries(res.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, Array.isArray(v) ? v.join(", ") : v]])));
      resolve({ status: res.statusCode ?? 502, headers, body: Buffer.concat(chunks) });
    });
  });
}
