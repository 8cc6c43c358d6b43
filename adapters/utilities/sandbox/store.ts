/**
 * What the utility does with its records: the seed (accounts for the seeded synthetic
 * citizens, at their addresses), test-data accounts, lookups, and orders (suspension,
 * restoration, transfer) under idempotency keys. Everything lives in schema
 * sandbox_utilities; reading requests is format.ts's, HTTP routes.ts's.
 */
import { randomBytes } from "node:crypto";
import type { Db, Queryable } from "../../../platform/db";
import type { Answer } from "../../../sandbox-kit/errors";
import { idempotency } from "../../../sandbox-kit/idempotency";
import { SEED, SEED_AS_OF, syntheticCitizens } from "../../../sandbox-kit/synthetic-people";
import { addrLine, UTILITY, UtilityError, type Holder, type NewHolder, type OrderRequest, type OrderType, type Premise, type SvcCode } from "./format";

/** An account as the utility answers it. */
interface Account {
  acct_no: string;
  svc_code: SvcCode;
  acct_status: "ACT" | "SUS";
  holder_nm: string;
  holder_id: string;
  premise: Premise;
  susp_reason: string | null;
  status_chg_ts: string;
}

/** What an order did to one account: `chg_flag` N when it already was as asked. */
interface AcctResult {
  acct_no: string;
  svc_code: SvcCode;
  acct_status: "ACT" | "SUS";
  chg_flag: "Y" | "N";
  /** A transfer that changed the account: its holder before. */
  prev_holder?: NewHolder;
}

/** The answer to an order. */
interface ServiceOrder {
  order_ref: string;
  order_type: OrderType;
  svc_code: SvcCode | null;
  premise: Premise;
  acct_results: AcctResult[];
  new_holder: NewHolder | null;
  eff_ts: string;
}

export const SCHEMA = "sandbox_utilities";
const CODES: SvcCode[] = ["G", "E", "W"];
const BATCH = 1000;

const ACCOUNT_COLUMNS = `a.acct_no, a.svc_code, a.acct_status, a.holder_nm, a.holder_id,
  json_build_object('addr_line', p.addr_line, 'post_code', p.post_code) AS premise, a.susp_reason,
  to_char(a.status_chg_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS status_chg_ts`;

/** Seeds accounts (gas, power, water) for `count` seeded citizens when there are none; returns how many. */
export async function seedIfEmpty(db: Db, count: number): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${SCHEMA}:seed`]);
    const [row] = await tx.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${SCHEMA}.account) AS any`);
    if (row?.any || count <= 0) return 0;
    // Holder i of the seed (1-based) has accounts G, E and W with number i.
    const rows = syntheticCitizens(SEED, count, { asOf: SEED_AS_OF }).map((c, i) => ({
      n: String(i + 1).padStart(10, "0"),
      holder_id: c.citizenNo,
      holder_nm: c.fullName,
      addr_line: addrLine(c.address),
      post_code: c.address.postcode,
      street: c.address.street,
    }));
    let accounts = 0;
    for (let i = 0; i < rows.length; i += BATCH) {
      const batch = JSON.stringify(rows.slice(i, i + BATCH));
      const recordset = `jsonb_to_recordset($1::jsonb) AS t(n text, holder_id text, holder_nm text, addr_line text, post_code text, street text)`;
      await tx.query(
        `INSERT INTO ${SCHEMA}.premise (addr_line, post_code, street) SELECT DISTINCT addr_line, post_code, street FROM ${recordset}
         ON CONFLICT (post_code, addr_line) DO NOTHING`,
        [batch],
      );
      const inserted = await tx.query(
        `INSERT INTO ${SCHEMA}.account (acct_no, premise_id, svc_code, holder_id, holder_nm, status_chg_ts)
         SELECT c.code || t.n, p.premise_id, c.code, t.holder_id, t.holder_nm, $2
         FROM ${recordset} JOIN ${SCHEMA}.premise p ON p.post_code = t.post_code AND p.addr_line = t.addr_line
         CROSS JOIN unnest(ARRAY['G', 'E', 'W']) AS c(code)
         RETURNING acct_no`,
        [batch, SEED_AS_OF.toISOString()],
      );
      accounts += inserted.length;
    }
    return accounts;
  });
}

async function premiseId(q: Queryable, h: Holder): Promise<string> {
  const [row] = await q.query<{ premise_id: string }>(
    `INSERT INTO ${SCHEMA}.premise (addr_line, post_code, street) VALUES ($1, $2, $3)
     ON CONFLICT (post_code, addr_line) DO UPDATE SET street = EXCLUDED.street RETURNING premise_id`,
    [addrLine(h.address), h.address.postcode, h.address.street],
  );
  return row!.premise_id;
}

/** Gas, power and water accounts for each holder at their address; a holder who has them there already keeps them. */
export async function createAccounts(db: Db, holders: Holder[]): Promise<Account[]> {
  return db.transaction(async (tx) => {
    const out: Account[] = [];
    for (const h of holders) {
      const premise = await premiseId(tx, h);
      const existing = await tx.query<{ acct_no: string }>(`SELECT acct_no FROM ${SCHEMA}.account WHERE premise_id = $1 AND holder_id = $2`, [
        premise,
        h.idNumber,
      ]);
      let acctNos = existing.map((r) => r.acct_no);
      if (acctNos.length === 0) {
        const [seq] = await tx.query<{ n: string }>(`SELECT lpad(nextval('${SCHEMA}.holder_seq')::text, 10, '0') AS n`);
        acctNos = CODES.map((c) => c + seq!.n);
        await tx.query(
          `INSERT INTO ${SCHEMA}.account (acct_no, premise_id, svc_code, holder_id, holder_nm) SELECT a, $2, left(a, 1), $3, $4 FROM unnest($1::text[]) AS a`,
          [acctNos, premise, h.idNumber, h.name],
        );
      }
      out.push(...(await accountsByNo(tx, acctNos)));
    }
    return out;
  });
}

const accountsByNo = (q: Queryable, acctNos: string[]) =>
  q.query<Account>(
    `SELECT ${ACCOUNT_COLUMNS} FROM ${SCHEMA}.account a JOIN ${SCHEMA}.premise p USING (premise_id) WHERE a.acct_no = ANY($1) ORDER BY a.acct_no`,
    [acctNos],
  );

/** At most this many accounts in one lookup's answer. */
const MAX_LOOKUP = 200;

/** The accounts at a street address within a post code (none when unknown). */
export async function lookup(db: Db, postCode: string, street: string): Promise<{ rec_cnt: number; acct_list: Account[] }> {
  const list = await db.query<Account>(
    `SELECT ${ACCOUNT_COLUMNS} FROM ${SCHEMA}.account a JOIN ${SCHEMA}.premise p USING (premise_id)
     WHERE p.post_code = $1 AND p.street = $2 ORDER BY a.premise_id, substr(a.acct_no, 2), array_position(ARRAY['G', 'E', 'W'], a.svc_code) LIMIT ${MAX_LOOKUP}`,
    [postCode, street],
  );
  return { rec_cnt: list.length, acct_list: list };
}

/** Runs `work` once per idempotency key (sandbox-kit/idempotency.ts). */
const idempotent = idempotency(SCHEMA, UTILITY);

interface Locked {
  acct_no: string;
  svc_code: SvcCode;
  acct_status: "ACT" | "SUS";
  holder_id: string;
  holder_nm: string;
  premise_id: string;
}

/** The accounts an order covers, locked for the order's transaction. */
async function targets(tx: Queryable, r: OrderRequest): Promise<{ premise: Premise; premiseId: string; accounts: Locked[] }> {
  let premiseRow: { premise_id: string; addr_line: string; post_code: string } | undefined;
  if (r.acct_no) {
    [premiseRow] = await tx.query(`SELECT p.* FROM ${SCHEMA}.account a JOIN ${SCHEMA}.premise p USING (premise_id) WHERE a.acct_no = $1`, [r.acct_no]);
    if (!premiseRow) throw new UtilityError(404, "E_ACCT_NF", "no account with this number");
  } else {
    [premiseRow] = await tx.query(`SELECT * FROM ${SCHEMA}.premise WHERE post_code = $1 AND addr_line = $2`, [r.premise!.post_code, r.premise!.addr_line]);
    if (!premiseRow) throw new UtilityError(404, "E_PREMISE_NF", "no premise at this address");
  }
  const where = r.acct_no ? "acct_no = $1" : r.svc_code ? "premise_id = $1 AND svc_code = $2" : "premise_id = $1";
  const params = r.acct_no ? [r.acct_no] : r.svc_code ? [premiseRow.premise_id, r.svc_code] : [premiseRow.premise_id];
  const accounts = await tx.query<Locked>(
    `SELECT acct_no, svc_code, acct_status, holder_id, holder_nm, premise_id FROM ${SCHEMA}.account WHERE ${where} ORDER BY acct_no FOR UPDATE`,
    params,
  );
  if (r.acct_no && r.svc_code && accounts[0]!.svc_code !== r.svc_code) throw new UtilityError(422, "E_SVC_MISMATCH", "the account is for another service");
  if (accounts.length === 0) throw new UtilityError(422, "E_NO_SVC", "the premise has no account for this service");
  return { premise: { addr_line: premiseRow.addr_line, post_code: premiseRow.post_code }, premiseId: premiseRow.premise_id, accounts };
}

/** Whether an order changes an account, which it leaves alone when the account is as asked already. */
function changes(r: OrderRequest, a: Locked): boolean {
  if (r.type === "SUSPEND") return a.acct_status === "ACT";
  if (r.type === "RESTORE") return a.acct_status === "SUS";
  return a.holder_id !== r.new_holder!.id_no || a.holder_nm !== r.new_holder!.holder_nm;
}

/** Suspends, restores or passes to the new holder the accounts `acctNos`. */
async function change(tx: Queryable, r: OrderRequest, acctNos: string[], now: string): Promise<void> {
  if (r.type === "TRANSFER")
    await tx.query(`UPDATE ${SCHEMA}.account SET holder_id = $2, holder_nm = $3 WHERE acct_no = ANY($1)`, [
      acctNos,
      r.new_holder!.id_no,
      r.new_holder!.holder_nm,
    ]);
  else
    await tx.query(`UPDATE ${SCHEMA}.account SET acct_status = $2, susp_reason = $3, status_chg_ts = $4 WHERE acct_no = ANY($1)`, [
      acctNos,
      r.type === "SUSPEND" ? "SUS" : "ACT",
      r.type === "SUSPEND" ? r.reason_txt : null,
      now,
    ]);
}

/** What the order did to one of its accounts. */
function resultOf(r: OrderRequest, a: Locked, changed: boolean): AcctResult {
  const status = changed && r.type !== "TRANSFER" ? (r.type === "SUSPEND" ? "SUS" : "ACT") : a.acct_status;
  const result: AcctResult = { acct_no: a.acct_no, svc_code: a.svc_code, acct_status: status, chg_flag: changed ? "Y" : "N" };
  if (changed && r.type === "TRANSFER") result.prev_holder = { id_no: a.holder_id, holder_nm: a.holder_nm };
  return result;
}

/** Carries out a suspension, restoration or transfer under its idempotency key: once, whatever the attempts. */
export function placeOrder(db: Db, key: string, r: OrderRequest): Promise<Answer> {
  return idempotent(db, key, r.type, r, async (tx) => {
    const { premise, premiseId, accounts } = await targets(tx, r);
    const now = new Date().toISOString();
    const changing = accounts.filter((a) => changes(r, a)).map((a) => a.acct_no);
    if (r.type === "TRANSFER" && accounts.some((a) => changing.includes(a.acct_no) && a.acct_status === "SUS"))
      throw new UtilityError(422, "E_ACCT_SUSPENDED", "a suspended account cannot change holder until its service is restored");
    if (changing.length) await change(tx, r, changing, now);
    const order: ServiceOrder = {
      order_ref: `SO${randomBytes(8).toString("hex").toUpperCase()}`,
      order_type: r.type,
      svc_code: r.svc_code ?? null,
      premise,
      acct_results: accounts.map((a) => resultOf(r, a, changing.includes(a.acct_no))),
      new_holder: r.new_holder ?? null,
      eff_ts: now,
    };
    await tx.query(
      `INSERT INTO ${SCHEMA}.service_order (order_ref, order_type, idem_key, premise_id, svc_code, reason_txt, incident_ref, new_holder, acct_results, eff_ts)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        order.order_ref,
        r.type,
        key,
        premiseId,
        order.svc_code,
        r.reason_txt ?? null,
        r.incident_ref ?? null,
        r.new_holder ? JSON.stringify(r.new_holder) : null,
        JSON.stringify(order.acct_results),
        now,
      ],
    );
    return { status: 201, body: order };
  });
}

/** An order as it was confirmed, by its number (the reference the hub's transfer events carry). */
export async function findOrder(q: Queryable, orderRef: string): Promise<ServiceOrder> {
  const [row] = await q.query<Omit<ServiceOrder, "premise"> & Premise>(
    `SELECT o.order_ref, o.order_type, o.svc_code, o.acct_results, o.new_holder, p.addr_line, p.post_code,
            to_char(o.eff_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS eff_ts
       FROM ${SCHEMA}.service_order o JOIN ${SCHEMA}.premise p USING (premise_id) WHERE o.order_ref = $1`,
    [orderRef],
  );
  if (!row) throw new UtilityError(404, "E_ORDER_NF", "no order with this number");
  const { addr_line, post_code, ...order } = row;
  return { ...order, premise: { addr_line, post_code } };
}
