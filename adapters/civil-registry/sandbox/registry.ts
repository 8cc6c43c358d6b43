/**
 * What the civil registry does with its records: person checks, e-ID issuance with
 * idempotency keys, test-data creation. Everything lives in schema sandbox_civil_registry;
 * HTTP concerns stay in server.ts.
 */
import type { RegistryEid } from "../agency-format";
import { createHash, randomBytes, randomInt } from "node:crypto";
import type { Db, Queryable } from "../../../platform/db";
import { SCHEMA, signEid, type SigningKey } from "./credentials";
import { mulberry32, syntheticCitizen, syntheticCitizens, type SyntheticCitizen } from "./synthetic";

/** The deterministic seed data: the same citizens on every fresh database. */
export const SEED = 1;
export const SEED_AS_OF = new Date("2025-01-01T00:00:00Z");
export const EID_VALIDITY_YEARS = 10;
const BATCH = 1000;

/** An answer in the agency's own error format: `{errorCode, errorMessage, ...extra}`. */
export class AgencyError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
  body(): Record<string, unknown> {
    return { errorCode: this.code, errorMessage: this.message, ...this.extra };
  }
}

/** The registry's e-ID record, in its own wire format. */
export type EidRecord = RegistryEid;

export interface Answer {
  status: number;
  body: unknown;
}

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

const alreadyActive = (eidNo: string) =>
  new AgencyError(409, "EID_ALREADY_ACTIVE", "the citizen already holds an active e-ID", { existingEidNo: eidNo });

/**
 * Issues an e-ID once per idempotency key. The key's row is claimed first inside the
 * transaction: a concurrent request with the same key blocks on it, then replays the stored
 * answer. Errors roll everything back, the key included, so they are not replayed.
 */
export async function issueEid(db: Db, signer: { key: SigningKey; issuer: string }, idempotencyKey: string, citizenNo: string): Promise<Answer> {
  const operation = "eid.issue";
  const requestHash = createHash("sha256").update(JSON.stringify({ citizenNo })).digest("hex");
  try {
    return await db.transaction(async (tx) => {
      const claimed = await tx.query(
        `INSERT INTO ${SCHEMA}.idempotency (key, operation, request_hash) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING RETURNING key`,
        [idempotencyKey, operation, requestHash],
      );
      if (claimed.length === 0) {
        const [prior] = await tx.query<{ operation: string; request_hash: string; status: number | null; body: unknown }>(
          `SELECT operation, request_hash, status, body FROM ${SCHEMA}.idempotency WHERE key = $1`,
          [idempotencyKey],
        );
        if (prior && (prior.operation !== operation || prior.request_hash !== requestHash))
          throw new AgencyError(422, "IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request");
        if (!prior || prior.status === null) throw new AgencyError(409, "IDEMPOTENCY_KEY_IN_USE", "a request with this Idempotency-Key is in progress");
        return { status: prior.status, body: prior.body };
      }

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
      const credential = await signEid(signer.key, {
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
      // The answer is stored as jsonb and the stored form is sent, so a replay is byte-for-byte the same.
      const [stored] = await tx.query<{ body: unknown }>(`UPDATE ${SCHEMA}.idempotency SET status = 201, body = $2 WHERE key = $1 RETURNING body`, [
        idempotencyKey,
        JSON.stringify(record),
      ]);
      return { status: 201, body: stored!.body };
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
