/**
 * What the civil registry does with its records: person checks, e-ID issuance, status and
 * revocation with idempotency keys, test-data creation (marriages and addresses: civil-status.ts). Everything lives in schema sandbox_civil_registry;
 * HTTP concerns stay in server.ts.
 */
import type { RegistryEid, RegistryEidStatus, RegistryRevocation } from "../agency-format";
import { randomBytes, randomInt } from "node:crypto";
import type { Db, Queryable } from "../../../platform/db";
import { activeSigningKey, SCHEMA, signEid } from "./credentials";
import { AgencyError, type Answer } from "./errors";
import { idempotent } from "./idempotency";

export { AgencyError, type Answer } from "./errors";
import { mulberry32, SEED, SEED_AS_OF, syntheticCitizen, syntheticCitizens, type SyntheticCitizen } from "../../../sandbox-kit/synthetic-people";

export const EID_VALIDITY_YEARS = 10;
const BATCH = 1000;

/** The registry's e-ID record, in its own wire format. */
export type EidRecord = RegistryEid;

async function insertCitizens(q: Queryable, citizens: SyntheticCitizen[]): Promise<Set<string>> {
  const inserted = new Set<string>();
  for (let i = 0; i < citizens.length; i += BATCH) {
    // One parameter per batch: the rows travel as a JSON array and are unpacked by the server.
    const rows = await q.query<{ citizen_no: string }>(
      `INSERT INTO ${SCHEMA}.citizen (citizen_no, full_name, birth_date, sex, address)
       SELECT "citizenNo", "fullName", "birthDate", sex, address
       FROM jsonb_to_recordset($1::jsonb) AS t("citizenNo" text, "fullName" text, "birthDate" date, sex text, address jsonb)
       ON CONFLICT (citizen_no) DO NOTHING
       RETURNING citizen_no`,
      [JSON.stringify(citizens.slice(i, i + BATCH))],
    );
    for (const r of rows) inserted.add(r.citizen_no);
  }
  return inserted;
}

/** Seeds `count` deterministic citizens when the registry has none; returns how many it added. */
export async function seedIfEmpty(db: Db, count: number): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${SCHEMA}:seed`]);
    const [row] = await tx.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${SCHEMA}.citizen) AS any`);
    if (row?.any || count <= 0) return 0;
    return (await insertCitizens(tx, syntheticCitizens(SEED, count, { asOf: SEED_AS_OF }))).size;
  });
}

/** Fresh random citizens for test-data tools, aged at today's date; all or none are created. */
export async function createCitizens(db: Db, count: number, ages: { minAge?: number; maxAge?: number }) {
  const rng = mulberry32(randomInt(0x1_0000_0000));
  const opts = { ...ages, asOf: new Date() };
  return db.transaction(async (tx) => {
    const created: SyntheticCitizen[] = [];
    for (let round = 0; created.length < count; round++) {
      if (round === 20) throw new Error("could not find unused identity numbers");
      const byNo = new Map<string, SyntheticCitizen>();
      while (byNo.size < count - created.length) {
        const c = syntheticCitizen(rng, opts);
        byNo.set(c.citizenNo, c);
      }
      const inserted = await insertCitizens(tx, [...byNo.values()]);
      created.push(...[...byNo.values()].filter((c) => inserted.has(c.citizenNo)));
    }
    return created.map((c) => ({ ...c, maritalStatus: "SINGLE" }));
  });
}

/** True only when the number exists and carries exactly this name; discloses nothing else. */
export async function personMatches(db: Db, citizenNo: string, fullName: string): Promise<boolean> {
  const [row] = await db.query<{ full_name: string }>(`SELECT full_name FROM ${SCHEMA}.citizen WHERE citizen_no = $1`, [citizenNo]);
  return row !== undefined && row.full_name === fullName.normalize("NFC").trim();
}

const EID_COLUMNS = `eid_no AS "eidNo", citizen_no AS "citizenNo", credential,
  to_char(issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "issuedAt",
  to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "expiresAt", status`;

export async function findEid(db: Db, eidNo: string): Promise<EidRecord | undefined> {
  const [row] = await db.query<EidRecord>(`SELECT ${EID_COLUMNS} FROM ${SCHEMA}.eid WHERE eid_no = $1`, [eidNo]);
  return row;
}

async function activeEidNo(q: Queryable, citizenNo: string): Promise<string | undefined> {
  const [row] = await q.query<{ eid_no: string }>(`SELECT eid_no FROM ${SCHEMA}.eid WHERE citizen_no = $1 AND status = 'ACTIVE'`, [citizenNo]);
  return row?.eid_no;
}

const alreadyActive = (eidNo: string) => new AgencyError(409, "EID_ALREADY_ACTIVE", "the citizen already holds an active e-ID", { existingEidNo: eidNo });

/**
 * Issues an e-ID once per idempotency key, signed with the key active at that moment.
 * A refusal rolls everything back, the key included, so it is not replayed.
 */
export async function issueEid(db: Db, signer: { issuer: string }, idempotencyKey: string, citizenNo: string): Promise<Answer> {
  try {
    return await idempotent(db, idempotencyKey, "eid.issue", { citizenNo }, async (tx) => {
      const [citizen] = await tx.query<{ full_name: string; birth_date: string }>(
        `SELECT full_name, birth_date::text AS birth_date FROM ${SCHEMA}.citizen WHERE citizen_no = $1 FOR UPDATE`,
        [citizenNo],
      );
      if (!citizen) throw new AgencyError(404, "CITIZEN_NOT_FOUND", "no citizen with this number");
      const existing = await activeEidNo(tx, citizenNo);
      if (existing) throw alreadyActive(existing);

      const eidNo = "EID" + randomBytes(8).toString("hex").toUpperCase();
      const issued = new Date(Math.floor(Date.now() / 1000) * 1000);
      const expires = new Date(issued);
      expires.setUTCFullYear(expires.getUTCFullYear() + EID_VALIDITY_YEARS);
      const credential = await signEid(await activeSigningKey(tx), {
        iss: signer.issuer,
        sub: eidNo,
        eid_no: eidNo,
        citizen_no: citizenNo,
        full_name: citizen.full_name,
        birth_date: citizen.birth_date,
        iat: issued.getTime() / 1000,
        exp: expires.getTime() / 1000,
      });
      const record: EidRecord = { eidNo, citizenNo, credential, issuedAt: issued.toISOString(), expiresAt: expires.toISOString(), status: "ACTIVE" };
      await tx.query(
        `INSERT INTO ${SCHEMA}.eid (eid_no, citizen_no, credential, status, issued_at, expires_at) VALUES ($1, $2, $3, 'ACTIVE', $4::timestamptz, $5::timestamptz)`,
        [eidNo, citizenNo, credential, record.issuedAt, record.expiresAt],
      );
      return { status: 201, body: record };
    });
  } catch (err) {
    // Safety net: two keys for one citizen racing past the row lock still cannot both issue.
    if ((err as { code?: string }).code === "23505") {
      const existing = await activeEidNo(db, citizenNo);
      if (existing) throw alreadyActive(existing);
    }
    throw err;
  }
}

const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** An e-ID's standing (ACTIVE or REVOKED, expiry), without the credential or the holder. */
export async function eidStatus(q: Queryable, eidNo: string): Promise<RegistryEidStatus | undefined> {
  const [row] = await q.query<RegistryEidStatus>(
    `SELECT eid_no AS "eidNo", status, ${ISO("expires_at")} AS "expiresAt", ${ISO("revoked_at")} AS "revokedAt" FROM ${SCHEMA}.eid WHERE eid_no = $1`,
    [eidNo],
  );
  return row;
}

/** Revokes an e-ID once per idempotency key; revoking one already revoked (under another key) is refused. */
export function revokeEid(db: Db, idempotencyKey: string, eidNo: string, reason: string | undefined): Promise<Answer> {
  return idempotent(db, idempotencyKey, "eid.revoke", { eidNo, reason }, async (tx) => {
    const [row] = await tx.query<{ citizen_no: string; status: string; revoked_at: string | null }>(
      `SELECT citizen_no, status, ${ISO("revoked_at")} AS revoked_at FROM ${SCHEMA}.eid WHERE eid_no = $1 FOR UPDATE`,
      [eidNo],
    );
    if (!row) throw new AgencyError(404, "EID_NOT_FOUND", "no e-ID with this number");
    if (row.status === "REVOKED") throw new AgencyError(409, "EID_ALREADY_REVOKED", "the e-ID is already revoked", { revokedAt: row.revoked_at });
    const [done] = await tx.query<{ revoked_at: string }>(
      `UPDATE ${SCHEMA}.eid SET status = 'REVOKED', revoked_at = date_trunc('milliseconds', now()), revocation_reason = $2 WHERE eid_no = $1 RETURNING ${ISO("revoked_at")} AS revoked_at`,
      [eidNo, reason ?? null],
    );
    const body: RegistryRevocation = { eidNo, citizenNo: row.citizen_no, status: "REVOKED", revokedAt: done!.revoked_at };
    return { status: 200, body };
  });
}
