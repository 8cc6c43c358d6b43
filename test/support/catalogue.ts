/**
 * What the catalogue's tests share: services registered on a started gateway under a code of
 * the test's own, rights granted, partners of the test's own (their own quota, purposes and
 * subsystem), and requests sent exactly as written (a raw path, a raw socket), which `fetch`
 * would normalise or refuse to send.
 */
import http from "node:http";
import net from "node:net";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { loadConfig } from "../../platform/config";
import { addPartner, defaultSubsystem } from "../../partners/registry";
import { issueToken } from "../../partners/tokens";
import { PURPOSES, SCOPES } from "../../partners/vocabulary";
import { suiteDb, SUITE_PARTNER } from "./partner";

export const PROVIDER_SUBSYSTEM = "LOCAL/GOV/50000001/population-registry";
export const SUITE_CLIENT = defaultSubsystem(SUITE_PARTNER, "LOCAL");
export const ZHANG = "110101199003074514";

/** The suite's database pool closed, so the test file's process ends without waiting for idle connections to time out (10 s). */
export const closeSuiteDb = async () => (await suiteDb()).close();

/** A service code no other run has taken. */
export const freshCode = (prefix: string) => `${prefix}-${randomBytes(3).toString("hex")}`;
export const serviceId = (code: string, subsystem = PROVIDER_SUBSYSTEM) => `${subsystem}/${code}`;

export interface Registration {
  code: string;
  baseUrl: string;
  openapi: string;
  timeoutMs?: number;
  subsystem?: string;
}

const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

/** POST /v1/catalogue/services, answered as it comes. */
export function registerService(hubUrl: string, r: Registration): Promise<Response> {
  const [instance, memberClass, memberCode, subsystemCode] = (r.subsystem ?? PROVIDER_SUBSYSTEM).split("/");
  const timeout = r.timeoutMs === undefined ? {} : { timeoutMs: r.timeoutMs };
  return postJson(`${hubUrl}/v1/catalogue/services`, {
    ...{ instance, memberClass, memberCode, subsystemCode, serviceCode: r.code, baseUrl: r.baseUrl, openapi: r.openapi },
    ...timeout,
  });
}

/** A registered service's id; fails the test when the hub refuses it. */
export async function registered(hubUrl: string, r: Registration): Promise<string> {
  const res = await registerService(hubUrl, r);
  assert.equal(res.status, 201, await res.text());
  return serviceId(r.code, r.subsystem);
}

/** Grants `client` `methods` (all when omitted) of `service` for `purposes`. */
export async function granted(hubUrl: string, client: string, service: string, purposes: string[], methods?: string[]): Promise<void> {
  const res = await postJson(`${hubUrl}/v1/catalogue/access-grants`, { client, service, purposes, ...(methods ? { methods } : {}) });
  assert.equal(res.status, 200, await res.text());
}

export interface OwnPartner {
  id: string;
  subsystem: string;
  token: string;
}

/** A partner of the test's own, with a token: every scope, and the quota and purposes given. */
export async function ownPartner(prefix: string, opts: { quota?: number; quotaWindowS?: number; purposes?: string[] } = {}): Promise<OwnPartner> {
  const db = await suiteDb();
  const id = `${prefix}-${randomBytes(3).toString("hex")}`;
  const purposes = (opts.purposes ?? [...PURPOSES]) as (typeof PURPOSES)[number][];
  const { partner } = await addPartner(db, { id, scopes: [...SCOPES], purposes, quota: opts.quota, quotaWindowS: opts.quotaWindowS });
  const issued = await issueToken(db, loadConfig({}), { partnerId: id, scopes: [...SCOPES] });
  return { id, subsystem: partner.subsystem, token: issued.access_token };
}

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request with its path sent as written (no `..` resolved, no percent-encoding touched). */
export function rawRequest(hubUrl: string, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<RawAnswer> {
  const { hostname, port } = new URL(hubUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Bytes written to the hub's port as they are; the first line of what comes back. */
export function rawBytes(hubUrl: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(hubUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(bytes));
    let answer = "";
    socket.on("data", (c: Buffer) => (answer += c.toString("latin1")));
    socket.on("error", reject);
    socket.on("close", () => resolve(answer.split("\r\n")[0] ?? ""));
  });
}

export interface Problem {
  status: number;
  code: string;
  detail: string;
  agency?: string;
  errors?: { in: string; pointer: string; detail: string }[];
}

/** The answer as problem+json, checked to be one with `status`. */
export async function problemOf(res: Response, status: number): Promise<Problem> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
  const problem = JSON.parse(text) as Problem;
  assert.equal(problem.status, status);
  return problem;
}
