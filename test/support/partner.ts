/**
 * The suite's partner: every scope and purpose, a quota no test reaches. Once imported,
 * every request to a hub gateway the suite started carries its access token and a
 * `Data-Purpose` (unless the request sets its own), so tests of other things need not
 * repeat the partner-access ceremony. Tests of partner access itself use `rawFetch`.
 */
import { loadConfig } from "../../platform/config";
import { openDb, type Db } from "../../platform/db";
import { migrateHub } from "../../hub/schema";
import { addPartner, findPartner, grantBuiltinServices } from "../../partners/registry";
import { ensureKeys } from "../../partners/keys";
import { issueToken } from "../../partners/tokens";
import { PURPOSES, SCOPES } from "../../partners/vocabulary";

export const SUITE_PARTNER = "suite-partner";
export const rawFetch = globalThis.fetch;
const gateways = new Set<string>();
let db: Promise<Db> | undefined;
let token: { value: string; until: number } | undefined;

/** The suite's database, with the hub's schema and signing keys. */
export function suiteDb(): Promise<Db> {
  db ??= (async () => {
    const opened = await openDb({ url: process.env.DATABASE_URL, pgliteDir: "" });
    await migrateHub(opened);
    await ensureKeys(opened);
    return opened;
  })();
  return db;
}

export async function suiteToken(): Promise<string> {
  if (token && token.until > Date.now() + 30_000) return token.value;
  const conn = await suiteDb();
  const suite = await findPartner(conn, SUITE_PARTNER);
  if (!suite)
    await addPartner(conn, { id: SUITE_PARTNER, scopes: [...SCOPES], purposes: [...PURPOSES], quota: 1_000_000_000, quotaWindowS: 60 }).catch(() => undefined);
  // Its rights on the built-in agencies, should a test (schemathesis' revocations) have taken them back.
  else await grantBuiltinServices(conn, suite);
  const issued = await issueToken(conn, loadConfig({}), { partnerId: SUITE_PARTNER, scopes: [...SCOPES] });
  token = { value: issued.access_token, until: Date.now() + issued.expires_in * 1000 };
  return token.value;
}

/** The documented test partner (README, the token example), with the example's secret. */
export const TEST_PARTNER = { id: "test-partner", secret: "test-partner-secret-change-me" };
export async function ensureTestPartner(): Promise<void> {
  const conn = await suiteDb();
  const partner = await findPartner(conn, TEST_PARTNER.id);
  if (!partner) await addPartner(conn, { id: TEST_PARTNER.id, scopes: [...SCOPES], purposes: [...PURPOSES] }, TEST_PARTNER.secret).catch(() => undefined);
  else await grantBuiltinServices(conn, partner);
}

/** Requests to this gateway carry the suite partner's token from now on. */
export function signRequestsTo(url: string): void {
  gateways.add(new URL(url).origin);
}

globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
  if (!gateways.has(url.origin)) return rawFetch(input, init);
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${await suiteToken()}`);
  if (!headers.has("data-purpose")) headers.set("data-purpose", "civil-registration");
  return rawFetch(input, { ...init, headers });
};
