/**
 * The partner registry in PostgreSQL (or PGlite): who may call the hub, with which scopes
 * and purposes, how often, and where their webhook is. Secrets are shown once and kept only
 * as scrypt hashes; a rotated secret stays valid for a grace period so a partner can switch.
 */
import { randomBytes } from "node:crypto";
import type { Queryable } from "../platform/db";
import { loadConfig } from "../platform/config";
import { HubError } from "../platform/errors";
import { hashSecret, newSecret, verifySecret } from "./secrets";
import { PURPOSES, SCOPES, type Purpose } from "./vocabulary";
import type { components } from "../contracts/generated/types";

type Schemas = components["schemas"];
export type Partner = Schemas["Partner"];
export type NewPartner = Omit<Schemas["PartnerParams"], "clientSecret">;
/** The secrets, returned this once. */
export type Credentials = Schemas["PartnerCredentials"];

export const DEFAULT_QUOTA = { quota: 600, quotaWindowS: 60 };
const ID = /^[a-z0-9][a-z0-9._-]{1,62}$/;
const SUBSYSTEM = /^[A-Za-z0-9._~-]{1,100}(\/[A-Za-z0-9._~-]{1,100}){3}$/;

/** A partner's subsystem unless it names one: `{HUB_INSTANCE}/GOV/{id}/default`. */
export const defaultSubsystem = (id: string, instance = loadConfig().instance) => `${instance}/GOV/${id}/default`;

interface Row {
  id: string;
  subsystem: string;
  name: string;
  scopes: string[];
  purposes: string[];
  quota: number;
  quota_window_s: number;
  webhook_url: string | null;
  webhook_secret: string | null;
  secret_hash: string;
  previous_secret_hash: string | null;
  previous_secret_expires_at: Date | string | null;
  disabled_at: Date | string | null;
  created_at: Date | string;
}

const toPartner = (r: Row): Partner => ({
  id: r.id,
  subsystem: r.subsystem,
  name: r.name,
  scopes: r.scopes,
  purposes: r.purposes as Purpose[],
  quota: r.quota,
  quotaWindowS: r.quota_window_s,
  webhookUrl: r.webhook_url,
  disabled: r.disabled_at !== null,
  createdAt: new Date(r.created_at).toISOString(),
});

const HUB_SUBSYSTEM = /^[^/]+\/GOV\/[^/]+\/hub$/;

/** Every problem with a new partner's fields, at once. */
function check(p: NewPartner): void {
  const problems: string[] = [];
  if (p.subsystem !== undefined && !SUBSYSTEM.test(p.subsystem))
    problems.push(`subsystem "${p.subsystem}" must be instance/memberClass/memberCode/subsystemCode, each 1 to 100 of letters, digits and . _ ~ -`);
  // Its grants are the hub's own: its agencies' (catalogue/builtin-ids.ts) and its linkages' (catalogue/linkage-client.ts).
  if (p.subsystem !== undefined && HUB_SUBSYSTEM.test(p.subsystem))
    problems.push(`subsystem "${p.subsystem}": GOV/…/hub is reserved for the hub's own subsystems`);
  if (!ID.test(p.id)) problems.push(`id "${p.id}" must be 2 to 63 of a-z 0-9 . _ - (starting with a letter or digit)`);
  const badScopes = p.scopes.filter((s) => !SCOPES.includes(s));
  if (badScopes.length) problems.push(`unknown scope ${badScopes.join(", ")} (known: ${SCOPES.join(", ")})`);
  const badPurposes = p.purposes.filter((s) => !(PURPOSES as readonly string[]).includes(s));
  if (badPurposes.length) problems.push(`unknown purpose ${badPurposes.join(", ")} (known: ${PURPOSES.join(", ")})`);
  if (p.quota !== undefined && !(Number.isInteger(p.quota) && p.quota > 0)) problems.push("quota must be a positive whole number of requests");
  if (p.quotaWindowS !== undefined && !(Number.isInteger(p.quotaWindowS) && p.quotaWindowS > 0 && p.quotaWindowS <= 86_400))
    problems.push("the quota window must be 1 to 86400 seconds");
  if (p.webhookUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(p.webhookUrl)) problems.push("the webhook URL must be http(s)://...");
  if (problems.length) throw new HubError("HUB_ERR_REQUEST_INVALID", problems.join("; "));
}

/** Adds a partner; its client secret (and webhook secret) are returned here and never again. */
export async function addPartner(db: Queryable, p: NewPartner, secret = newSecret()): Promise<Credentials> {
  check(p);
  const webhookSecret = p.webhookUrl ? `whsec_${randomBytes(24).toString("base64")}` : null;
  const rows = await db.query<Row>(
    `INSERT INTO hub.partner (id, name, scopes, purposes, quota, quota_window_s, webhook_url, webhook_secret, secret_hash, subsystem)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING *`,
    [
      p.id,
      p.name ?? p.id,
      p.scopes,
      p.purposes,
      p.quota ?? DEFAULT_QUOTA.quota,
      p.quotaWindowS ?? DEFAULT_QUOTA.quotaWindowS,
      p.webhookUrl ?? null,
      webhookSecret,
      await hashSecret(secret),
      p.subsystem ?? defaultSubsystem(p.id),
    ],
  );
  if (!rows[0])
    throw new HubError("HUB_ERR_PARTNER_EXISTS", `A partner ${p.id} exists already, or another partner is subsystem ${p.subsystem ?? defaultSubsystem(p.id)}`);
  await grantBuiltinServices(db, rows[0]);
  return { partner: toPartner(rows[0]), clientId: rows[0].id, clientSecret: secret, webhookSecret };
}

/**
 * Onboarding: a new partner's subsystem is granted the built-in agencies' catalogue services
 * its scopes cover (each row names the scope the contract asks for), for its purposes where the
 * operation touches personal data (any purpose elsewhere: none is asked). Operators narrow or
 * widen them afterwards with `linkage-hub access`; the partner's scopes still apply as well.
 * Run again, it gives back rights taken back and leaves the others as they are.
 */
export async function grantBuiltinServices(db: Queryable, row: { subsystem: string; scopes: readonly string[]; purposes: readonly string[] }): Promise<void> {
  await db.query(
    `INSERT INTO hub.catalogue_grant (client, service_id, method, path, purposes)
     SELECT $1, id, '*', '*', CASE WHEN coalesce((methods -> 0 ->> 'personalData')::boolean, true) THEN $2::text[] ELSE ARRAY['*'] END
     FROM hub.catalogue_service WHERE builtin AND contract_scope = ANY ($3::text[])
     ON CONFLICT DO NOTHING`,
    [row.subsystem, row.purposes, row.scopes],
  );
}

export async function listPartners(db: Queryable): Promise<Partner[]> {
  return (await db.query<Row>("SELECT * FROM hub.partner ORDER BY id")).map(toPartner);
}

export async function findPartner(db: Queryable, id: string): Promise<Partner | undefined> {
  const [row] = await db.query<Row>("SELECT * FROM hub.partner WHERE id = $1", [id]);
  return row && toPartner(row);
}

export async function getPartner(db: Queryable, id: string): Promise<Partner> {
  const partner = await findPartner(db, id);
  if (!partner) throw new HubError("HUB_ERR_PARTNER_NOT_FOUND", `No partner ${id}`);
  return partner;
}

/** The webhook a partner registered, with its signing secret. */
export async function webhookOf(db: Queryable, id: string): Promise<{ url: string; secret: string } | undefined> {
  const [row] = await db.query<Row>("SELECT * FROM hub.partner WHERE id = $1 AND disabled_at IS NULL", [id]);
  return row?.webhook_url && row.webhook_secret ? { url: row.webhook_url, secret: row.webhook_secret } : undefined;
}

/** A new client secret; the old one is accepted for `graceS` more seconds (0: not at all). */
export async function rotateSecret(db: Queryable, id: string, graceS: number): Promise<Credentials> {
  const secret = newSecret();
  const [row] = await db.query<Row>(
    `UPDATE hub.partner SET previous_secret_hash = CASE WHEN $3::int > 0 THEN secret_hash END,
       previous_secret_expires_at = CASE WHEN $3::int > 0 THEN now() + make_interval(secs => $3::int) END, secret_hash = $2
     WHERE id = $1 RETURNING *`,
    [id, await hashSecret(secret), graceS],
  );
  if (!row) throw new HubError("HUB_ERR_PARTNER_NOT_FOUND", `No partner ${id}`);
  return { partner: toPartner(row), clientId: id, clientSecret: secret };
}

/** Disables a partner: its tokens stop working at once and it gets no new ones. */
export async function disablePartner(db: Queryable, id: string): Promise<Partner> {
  const rows = await db.query<Row>("UPDATE hub.partner SET disabled_at = coalesce(disabled_at, now()) WHERE id = $1 RETURNING *", [id]);
  if (!rows[0]) throw new HubError("HUB_ERR_PARTNER_NOT_FOUND", `No partner ${id}`);
  return toPartner(rows[0]);
}

/** The enabled partner these client credentials belong to, if they do. */
export async function authenticateClient(db: Queryable, id: string, secret: string): Promise<Partner | undefined> {
  const [row] = await db.query<Row>("SELECT * FROM hub.partner WHERE id = $1 AND disabled_at IS NULL", [id]);
  if (!row) {
    await hashSecret(secret); // as slow as a known client: the answer time says nothing
    return undefined;
  }
  if (await verifySecret(secret, row.secret_hash)) return toPartner(row);
  const previousValid = row.previous_secret_hash && row.previous_secret_expires_at && new Date(row.previous_secret_expires_at) > new Date();
  if (previousValid && (await verifySecret(secret, row.previous_secret_hash!))) return toPartner(row);
  return undefined;
}
