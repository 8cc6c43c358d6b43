/**
 * Operators: who may read workflow payloads in clear through the codec server. Each has a
 * random secret, shown once when made and stored only as a scrypt hash (as partners' are);
 * removing an operator stops their next request.
 */
import { createHash } from "node:crypto";
import type { components } from "../contracts/generated/types";
import type { Queryable } from "../platform/db";
import { HubError } from "../platform/errors";
import { hashSecret, newSecret, verifySecret } from "../partners/secrets";

export const OPERATOR_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export type Operator = components["schemas"]["Operator"];
export type OperatorCredentials = components["schemas"]["OperatorCredentials"];

export const basicAuthorization = (name: string, secret: string) => `Basic ${Buffer.from(`${name}:${secret}`).toString("base64")}`;

export async function addOperator(db: Queryable, name: string): Promise<OperatorCredentials> {
  if (!OPERATOR_NAME.test(name))
    throw new HubError(
      "HUB_ERR_REQUEST_INVALID",
      `An operator's name is 1 to 64 of a-z 0-9 . _ - (starting with a letter or digit), not ${JSON.stringify(name)}`,
    );
  const secret = newSecret();
  const rows = await db.query("INSERT INTO hub.operator (name, secret_hash) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING name", [
    name,
    await hashSecret(secret),
  ]);
  if (!rows.length) throw new HubError("HUB_ERR_OPERATOR_EXISTS", `The operator ${name} exists already; remove it first to give a new secret`);
  return { name, secret, authorization: basicAuthorization(name, secret) };
}

export async function listOperators(db: Queryable): Promise<Operator[]> {
  const rows = await db.query<{ name: string; created_at: Date }>("SELECT name, created_at FROM hub.operator ORDER BY name");
  return rows.map((r) => ({ name: r.name, createdAt: new Date(r.created_at).toISOString() }));
}

export async function removeOperator(db: Queryable, name: string): Promise<Operator> {
  const [row] = await db.query<{ name: string; created_at: Date }>("DELETE FROM hub.operator WHERE name = $1 RETURNING name, created_at", [name]);
  if (!row) throw new HubError("HUB_ERR_OPERATOR_NOT_FOUND", `No operator ${name}`);
  return { name: row.name, createdAt: new Date(row.created_at).toISOString() };
}

/** The operator these credentials belong to, if they do; as slow for an unknown name as for a known one. */
export async function authenticateOperator(db: Queryable, name: string, secret: string): Promise<string | undefined> {
  const [row] = await db.query<{ secret_hash: string }>("SELECT secret_hash FROM hub.operator WHERE name = $1", [name]);
  if (!row) {
    await hashSecret(secret);
    return undefined;
  }
  return (await verifySecret(secret, row.secret_hash)) ? name : undefined;
}

/**
 * authenticateOperator for every request of a page: the Temporal UI sends one request per
 * payload it shows, and a scrypt check costs about 50 ms of CPU. The operator's row is read each
 * time (a removed operator is refused at once); a secret already checked against that very hash
 * is not checked again.
 */
export function operatorAuthenticator(db: Queryable): (name: string, secret: string) => Promise<string | undefined> {
  const checked = new Map<string, true>();
  return async (name, secret) => {
    const [row] = await db.query<{ secret_hash: string }>("SELECT secret_hash FROM hub.operator WHERE name = $1", [name]);
    const key = row && createHash("sha256").update(`${row.secret_hash}\n${secret}`).digest("base64");
    if (key && checked.has(key)) return name;
    if (!(await authenticateOperator(db, name, secret))) return undefined;
    if (checked.size >= 1000) checked.clear();
    checked.set(key!, true);
    return name;
  };
}
