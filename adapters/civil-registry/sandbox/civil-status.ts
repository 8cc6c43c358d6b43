/**
 * Civil status at the registry: marital status, marriage registration (both applicants'
 * e-IDs verified against the registry's own keys) and household address changes. Every
 * change runs once per idempotency key; HTTP concerns stay in routes.ts.
 */
import { randomBytes } from "node:crypto";
import type { RegistryAddress, RegistryAddressChange, RegistryMaritalStatus, RegistryMarriage } from "../agency-format";
import type { Db, Queryable } from "../../../platform/db";
import { SCHEMA, verifyOwnCredential } from "./credentials";
import { AgencyError, type Answer } from "./errors";
import { idempotent } from "./idempotency";

/** Legal age of marriage (PRC Civil Code art. 1047): 22 for men, 20 for women. */
export const MARRIAGE_AGE = { MALE: 22, FEMALE: 20 } as const;

export interface Applicant {
  citizenNo: string;
  eidCredential: string;
}

const notFound = (citizenNo: string) => new AgencyError(404, "CITIZEN_NOT_FOUND", "no citizen with this number", { citizenNo });

/** Whole years from a YYYY-MM-DD birth date to `at` (UTC calendar). */
export function ageOn(birthDate: string, at: Date): number {
  const [y, m, d] = birthDate.split("-").map(Number) as [number, number, number];
  const age = at.getUTCFullYear() - y;
  const month = at.getUTCMonth() + 1;
  return month < m || (month === m && at.getUTCDate() < d) ? age - 1 : age;
}

export async function maritalStatus(q: Queryable, citizenNo: string): Promise<RegistryMaritalStatus> {
  const [row] = await q.query<{ marital_status: RegistryMaritalStatus["maritalStatus"] }>(
    `SELECT marital_status FROM ${SCHEMA}.citizen WHERE citizen_no = $1`,
    [citizenNo],
  );
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
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
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
    const body: RegistryMarriage = { registrationNo, spouses: [a.citizenNo, b.citizenNo], registeredAt: now.toISOString() };
    return { status: 201, body };
  });
}

/** Moves a household (one or more citizens) to a new address, once per idempotency key; all or none. */
export function changeAddress(db: Db, idempotencyKey: string, citizenNos: string[], address: RegistryAddress): Promise<Answer> {
  return idempotent(db, idempotencyKey, "address.change", { citizenNos, address }, async (tx) => {
    if (new Set(citizenNos).size !== citizenNos.length) throw new AgencyError(400, "INVALID_REQUEST", "a citizen is listed twice");
    const found = await tx.query<{ citizen_no: string; full_name: string }>(
      `SELECT citizen_no, full_name FROM ${SCHEMA}.citizen WHERE citizen_no = ANY($1::text[]) ORDER BY citizen_no FOR UPDATE`,
      [citizenNos],
    );
    const missing = citizenNos.find((c) => !found.some((r) => r.citizen_no === c));
    if (missing) throw notFound(missing);
    const effective = new Date(Math.floor(Date.now() / 1000) * 1000);
    const changeNo = "AC" + randomBytes(8).toString("hex").toUpperCase();
    await tx.query(`UPDATE ${SCHEMA}.citizen SET address = $2::jsonb WHERE citizen_no = ANY($1::text[])`, [citizenNos, JSON.stringify(address)]);
    await tx.query(`INSERT INTO ${SCHEMA}.address_change (change_no, citizen_nos, address, effective_at) VALUES ($1, $2::jsonb, $3::jsonb, $4::timestamptz)`, [
      changeNo,
      JSON.stringify(citizenNos),
      JSON.stringify(address),
      effective.toISOString(),
    ]);
    const fullNames = citizenNos.map((c) => found.find((r) => r.citizen_no === c)!.full_name);
    const body: RegistryAddressChange = { changeNo, citizenNos, fullNames, address, effectiveAt: effective.toISOString() };
    return { status: 201, body };
  });
}
