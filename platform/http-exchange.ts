/**
 * One HTTP exchange on a kept-alive connection with Node's own client, for the agencies' hot
 * path. fetch builds WHATWG streams, a Headers object and a Response per call: under load it
 * was about a sixth of the gateway's CPU per identity verification (bench:throughput's profile,
 * node:undici and node:webstreams), for an answer read whole as text anyway.
 */
import http from "node:http";
import https from "node:https";

const AGENTS = { "http:": new http.Agent({ keepAlive: true }), "https:": new https.Agent({ keepAlive: true }) };

export interface ExchangeRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** The whole exchange's bound, the answer's body included. */
  timeoutMs: number;
}

export interface ExchangeAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** Rejects with an error named `TimeoutError` past `timeoutMs`, or with the connection's error. */
export function exchange(url: string, request: ExchangeRequest): Promise<ExchangeAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const transport = target.protocol === "https:" ? https : http;
    let settled = false;
    const settle = (err: Error | undefined, answer?: ExchangeAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(answer!);
    };
    const req = transport.request(target, { method: request.method, headers: request.headers, agent: AGENTS[target.protocol as "http:"] }, (res) => {
      res.setEncoding("utf8");
      let text = "";
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => settle(undefined, { status: res.statusCode!, headers: res.headers, text }));
      res.on("error", settle);
      // A connection closed before the answer's end (after it, this changes nothing).
      res.on("close", () => settle(new Error("the answer was cut off")));
    });
    const timer = setTimeout(() => {
      const err = new Error(`no answer within ${request.timeoutMs} ms`);
      err.name = "TimeoutError";
      settle(err);
      req.destroy();
    }, request.timeoutMs).unref();
    req.on("error", settle);
    req.end(request.body);
  });
}
