/**
 * The registry's records, in its own schema: citizens (seeded and made on demand), e-IDs and
 * the keys that sign them, marriages and household address changes. Every change runs once
 * per idempotency key, in the transaction that records the key. HTTP stays in routes.ts.
 *
 * Past 300 lines on purpose: this is the one file that knows the schema's tables, and the
 * changes share its locking rules (citizen rows FOR UPDATE, in number order; advisory locks
 * for the seed and the signing key). The key table is here, not in credentials.ts, so that
 * file (making, signing, verifying) does not import this one back.
 */
import { randomBytes, randomInt } from "node:crypto";
import type { JWK } from "jose";
import type { Db, Queryable } from "../../../platform/db";
import type { Answer } from "../../../sandbox-kit/errors";
import { idempotency } from "../../../sandbox-kit/idempotency";
import { mulberry32, SEED, SEED_AS_OF, syntheticCitizen, syntheticCitizens, type SyntheticCitizen } from "../../../sandbox-kit/synthetic-people";
import { newKeyPair, signEid, toSigningKey, verifyCredential, type EidClaims, type SigningKey } from "./credentials";
import {
  AgencyError,
  REGISTRY,
  type Address,
  type AddressChange,
  type Applicant,
  type EidRecord,
  type EidStatus,
  type MaritalStatusValue,
  type Marriage,
  type Revocation,
} from "./format";

export const SCHEMA = "sandbox_civil_registry";

const idempotent = idempotency(SCHEMA, REGISTRY);

const EID_VALIDITY_YEARS = 10;
/** Legal age of marriage (PRC Civil Code art. 1047): 22 for men, 20 for women. */
const MARRIAGE_AGE = { MALE: 22, FEMALE: 20 } as const;
const BATCH = 1000;

const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
/** Now, to the whole second. */
const thisSecond = () => new Date(Math.floor(Date.now() / 1000) * 1000);

// --- Signing keys -------------------------------------------------------------------------

async function insertNewKey(tx: Queryable): Promise<JWK> {
  const { kid, privateJwk, publicJwk } = await newKeyPair();
  await tx.query(`INSERT INTO ${SCHEMA}.signing_key (kid, private_jwk, public_jwk, active) VALUES ($1, $2, $3, true)`, [
    kid,
    JSON.stringify(privateJwk),
    JSON.stringify(publicJwk),
  ]);
  return privateJwk;
}

/**
 * The active signing key, created on first start. An advisory lock keeps two sandboxes
 * starting on one database from each creating a key.
 */
export async function ensureSigningKey(db: Db): Promise<SigningKey> {
  const jwk = await db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${SCHEMA}:signing_key`]);
    const [row] = await tx.query<{ private_jwk: JWK }>(`SELECT private_jwk FROM ${SCHEMA}.signing_key WHERE active`);
    return row ? row.private_jwk : insertNewKey(tx);
  });
  return toSigningKey(jwk);
}

/** The key that signs now (read in the caller's transaction, so a rotation is seen at once). */
async function activeSigningKey(q: Queryable): Promise<SigningKey> {
  const [row] = await q.query<{ private_jwk: JWK }>(`SELECT private_jwk FROM ${SCHEMA}.signing_key WHERE active`);
  if (!row) throw new Error("the registry has no active signing key");
  return toSigningKey(row.private_jwk);
}

/** A new key signs from now on; the retired one stays published, so its credentials still verify. */
export async function rotateSigningKey(db: Db): Promise<{ kid: string; retired: string[] }> {
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${SCHEMA}:signing_key`]);
    const retired = await tx.query<{ kid: string }>(`UPDATE ${SCHEMA}.signing_key SET active = false WHERE active RETURNING kid`);
    const jwk = await insertNewKey(tx);
    return { kid: jwk.kid!, retired: retired.map((r) => r.kid) };
  });
}

/** Every public key, the active one first: retired keys stay so older credentials still verify. */
export async function publicJwks(db: Queryable): Promise<{ keys: JWK[] }> {
  const rows = await db.query<{ public_jwk: JWK }>(`SELECT public_jwk FROM ${SCHEMA}.signing_key ORDER BY active DESC, created_at DESC`);
  return { keys: rows.map((r) => r.public_jwk) };
}

/** A credential this registry signed with one of its keys (active or retired), of the e-ID type, not expired. */
const verifyOwnCredential = async (q: Queryable, credential: string): Promise<EidClaims> => verifyCredential(await publicJwks(q), credential);

// --- Citizens -----------------------------------------------------------------------------

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

const notFound = (citizenNo: string) => new AgencyError(404, "CITIZEN_NOT_FOUND", "no citizen with this number", { citizenNo });

// --- e-IDs --------------------------------------------------------------------------------

const EID_COLUMNS = `eid_no AS "eidNo", citizen_no AS "citizenNo", credential,
  ${ISO("issued_at")} AS "issuedAt", ${ISO("expires_at")} AS "expiresAt", status`;

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
      const issued = thisSecond();
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

/** An e-ID's standing (ACTIVE or REVOKED, expiry), without the credential or the holder. */
export async function eidStatus(q: Queryable, eidNo: string): Promise<EidStatus | undefined> {
  const [row] = await q.query<EidStatus>(
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
    const body: Revocation = { eidNo, citizenNo: row.citizen_no, status: "REVOKED", revokedAt: done!.revoked_at };
    return { status: 200, body };
  });
}

// --- Civil status -------------------------------------------------------------------------

/** Whole years from a YYYY-MM-DD birth date to `at` (UTC calendar). */
function ageOn(birthDate: string, at: Date): number {
  const [y, m, d] = birthDate.split("-").map(Number) as [number, number, number];
  const age = at.getUTCFullYear() - y;
  const month = at.getUTCMonth() + 1;
  return month < m || (month === m && at.getUTCDate() < d) ? age - 1 : age;
}

export async function maritalStatus(q: Queryable, citizenNo: string): Promise<{ citizenNo: string; maritalStatus: MaritalStatusValue }> {
  const [row] = await q.query<{ marital_status: MaritalStatusValue }>(`SELECT marital_status FROM ${SCHEMA}.citizen WHERE citizen_no = $1`, [citizenNo]);
  if (!row) throw notFound(citizenNo);
  return { citizenNo, maritalStatus: row.marital_status };
}

/** The applicant's e-ID is a credential of this registry, ACTIVE, unexpired and theirs; otherwise a refusal naming the applicant. */
async function checkEid(tx: Queryable, applicant: Applicant, index: number): Promise<void> {
  const which = { applicant: index };
  let claims;
  try {
    claims = await verifyOwnCredential(tx, applicant.eidCredential);
  } catch (err) {
    const expired = (err as { code?: string }).code === "ERR_JWT_EXPIRED";
    throw new AgencyError(422, expired ? "EID_EXPIRED" : "EID_INVALID", expired ? "the e-ID has expired" : "the e-ID credential is not valid", which);
  }
  if (claims.citizen_no !== applicant.citizenNo) throw new AgencyError(422, "EID_NOT_HOLDER", "the e-ID belongs to someone else", which);
  const [eid] = await tx.query<{ status: string; citizen_no: string }>(`SELECT status, citizen_no FROM ${SCHEMA}.eid WHERE eid_no = $1`, [claims.eid_no]);
  if (!eid || eid.citizen_no !== applicant.citizenNo) throw new AgencyError(422, "EID_INVALID", "the registry issued no such e-ID", which);
  if (eid.status !== "ACTIVE") throw new AgencyError(422, "EID_REVOKED", "the e-ID has been revoked", which);
}

/**
 * Registers a marriage once per idempotency key. Both citizens are locked (in number order,
 * so two registrations never deadlock) before their state is read, so one person cannot be
 * married twice by concurrent requests.
 */
export function registerMarriage(db: Db, idempotencyKey: string, applicants: [Applicant, Applicant]): Promise<Answer> {
  return idempotent(db, idempotencyKey, "marriage.register", applicants, async (tx) => {
    const [a, b] = applicants;
    if (a.citizenNo === b.citizenNo) throw new AgencyError(422, "SAME_PERSON", "both applicants are the same person");
    const rows = await tx.query<{ citizen_no: string; sex: "MALE" | "FEMALE"; birth_date: string; marital_status: string }>(
      `SELECT citizen_no, sex, birth_date::text AS birth_date, marital_status FROM ${SCHEMA}.citizen WHERE citizen_no = ANY($1::text[]) ORDER BY citizen_no FOR UPDATE`,
      [[a.citizenNo, b.citizenNo]],
    );
    const byNo = new Map(rows.map((r) => [r.citizen_no, r]));
    const now = thisSecond();
    for (const [i, applicant] of applicants.entries()) {
      const person = byNo.get(applicant.citizenNo);
      if (!person) throw notFound(applicant.citizenNo);
      if (person.marital_status === "MARRIED") throw new AgencyError(409, "ALREADY_MARRIED", "an applicant is already married", { applicant: i });
      if (ageOn(person.birth_date, now) < MARRIAGE_AGE[person.sex])
        throw new AgencyError(422, "UNDER_LEGAL_AGE", `an applicant is under the legal age of marriage (${MARRIAGE_AGE[person.sex]})`, { applicant: i });
    }
    for (const [i, applicant] of applicants.entries()) await checkEid(tx, applicant, i);

    const registrationNo = `MR${now.getUTCFullYear()}${randomBytes(6).toString("hex").toUpperCase()}`;
    await tx.query(`INSERT INTO ${SCHEMA}.marriage (registration_no, spouse_a, spouse_b, registered_at) VALUES ($1, $2, $3, $4::timestamptz)`, [
      registrationNo,
      a.citizenNo,
      b.citizenNo,
      now.toISOString(),
    ]);
    await tx.query(`UPDATE ${SCHEMA}.citizen SET marital_status = 'MARRIED' WHERE citizen_no = ANY($1::text[])`, [[a.citizenNo, b.citizenNo]]);
    const body: Marriage = { registrationNo, spouses: [a.citizenNo, b.citizenNo], registeredAt: now.toISOString() };
    return { status: 201, body };
  });
}

/** Moves a household (one or more citizens) to a new address, once per idempotency key; all or none. */
export function changeAddress(db: Db, idempotencyKey: string, citizenNos: string[], address: Address): Promise<Answer> {
  return idempotent(db, idempotencyKey, "address.change", { citizenNos, address }, async (tx) => {
    if (new Set(citizenNos).size !== citizenNos.length) throw new AgencyError(400, "INVALID_REQUEST", "a citizen is listed twice");
    const found = await tx.query<{ citizen_no: string; full_name: string }>(
      `SELECT citizen_no, full_name FROM ${SCHEMA}.citizen WHERE citizen_no = ANY($1::text[]) ORDER BY citizen_no FOR UPDATE`,
      [citizenNos],
    );
    const missing = citizenNos.find((c) => !found.some((r) => r.citizen_no === c));
    if (missing) throw notFound(missing);
    const effective = thisSecond();
    const changeNo = "AC" + randomBytes(8).toString("hex").toUpperCase();
    await tx.query(`UPDATE ${SCHEMA}.citizen SET address = $2::jsonb WHERE citizen_no = ANY($1::text[])`, [citizenNos, JSON.stringify(address)]);
    await tx.query(`INSERT INTO ${SCHEMA}.address_change (change_no, citizen_nos, address, effective_at) VALUES ($1, $2::jsonb, $3::jsonb, $4::timestamptz)`, [
      changeNo,
      JSON.stringify(citizenNos),
      JSON.stringify(address),
      effective.toISOString(),
    ]);
    const fullNames = citizenNos.map((c) => found.find((r) => r.citizen_no === c)!.full_name);
    const body: AddressChange = { changeNo, citizenNos, fullNames, address, effectiveAt: effective.toISOString() };
    return { status: 201, body };
  });
}

// --- reads by reference (what an event's consumer asks) ----------------------------------

/** A citizen's number and registered name, nothing else. */
export async function findPerson(q: Queryable, citizenNo: string): Promise<{ citizenNo: string; fullName: string }> {
  const [row] = await q.query<{ full_name: string }>(`SELECT full_name FROM ${SCHEMA}.citizen WHERE citizen_no = $1`, [citizenNo]);
  if (!row) throw notFound(citizenNo);
  return { citizenNo, fullName: row.full_name };
}

export async function findMarriage(q: Queryable, registrationNo: string): Promise<Marriage> {
  const [row] = await q.query<{ spouse_a: string; spouse_b: string; registered_at: string }>(
    `SELECT spouse_a, spouse_b, ${ISO("registered_at")} AS registered_at FROM ${SCHEMA}.marriage WHERE registration_no = $1`,
    [registrationNo],
  );
  if (!row) throw new AgencyError(404, "MARRIAGE_NOT_FOUND", "no marriage with this number");
  return { registrationNo, spouses: [row.spouse_a, row.spouse_b], registeredAt: row.registered_at };
}

/** A recorded change with the household's names as the registry holds them now. */
export async function findAddressChange(q: Queryable, changeNo: string): Promise<AddressChange> {
  const [row] = await q.query<{ citizen_nos: string[]; address: Address; effective_at: string }>(
    `SELECT citizen_nos, address, ${ISO("effective_at")} AS effective_at FROM ${SCHEMA}.address_change WHERE change_no = $1`,
    [changeNo],
  );
  if (!row) throw new AgencyError(404, "CHANGE_NOT_FOUND", "no address change with this number");
  const names = await q.query<{ citizen_no: string; full_name: string }>(
    `SELECT citizen_no, full_name FROM ${SCHEMA}.citizen WHERE citizen_no = ANY($1::text[])`,
    [row.citizen_nos],
  );
  const fullNames = row.citizen_nos.map((c) => names.find((n) => n.citizen_no === c)!.full_name);
  return { changeNo, citizenNos: row.citizen_nos, fullNames, address: row.address, effectiveAt: row.effective_at };
}
