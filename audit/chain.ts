/**
 * The audit chain. Each record's hash covers the previous record's hash and the record
 * (canonical JSON), so a changed, removed or reordered record breaks every hash after it.
 * Checkpoints sign the chain head and the Merkle root (RFC 6962 hashing) of the records
 * since the previous checkpoint, with a key outside the database: recomputing the chain, or
 * cutting its tail, no longer matches a signature. Inclusion proofs let one record be
 * checked against a signed checkpoint without the rest of the log.
 */
import { createHash, createHmac, sign, verify, type KeyObject } from "node:crypto";
import type { Db, Queryable } from "../platform/db";
import type { AuditKeys } from "./keys";
import type { components } from "../contracts/generated/types";

type Schemas = components["schemas"];
/** One record's content: the contract's AuditRecord, which types and checks it everywhere. */
export type AuditEntry = Schemas["AuditRecord"]["record"];
export type StoredRecord = Schemas["AuditRecord"];
export type SignedCheckpoint = Schemas["AuditCheckpoint"];
export type Checkpoint = SignedCheckpoint["checkpoint"];

export const GENESIS = "0".repeat(64);
const sha256 = (...parts: (string | Buffer)[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};

/** JSON with keys sorted at every level: one text for one value. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

export const recordHash = (seq: number, prevHash: string, record: AuditEntry) => sha256(`${seq}\n${prevHash}\n${canonical(record)}`).toString("hex");
export const checkpointHash = (c: Checkpoint) => sha256(canonical(c)).toString("hex");
export const subjectHash = (keys: AuditKeys, idNumber: string) => createHmac("sha256", keys.subjectKey).update(idNumber.toUpperCase()).digest("hex");
export const bodyHash = (body: string | Buffer) => `sha-256=:${sha256(body).toString("base64")}:`;

// Merkle tree over record hashes, RFC 6962 section 2.1: leaves 0x00||data, nodes 0x01||left||right.
const leaf = (hash: string) => sha256(Buffer.from([0]), Buffer.from(hash, "hex"));
const node = (l: Buffer, r: Buffer) => sha256(Buffer.from([1]), l, r);
const split = (n: number) => 2 ** Math.floor(Math.log2(n - 1)); // largest power of two below n

function root(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha256("");
  if (leaves.length === 1) return leaves[0]!;
  const k = split(leaves.length);
  return node(root(leaves.slice(0, k)), root(leaves.slice(k)));
}

export const merkleRoot = (hashes: string[]) => root(hashes.map(leaf)).toString("hex");

/** The audit path of leaf `index` (RFC 6962 section 2.1.1). */
export function inclusionProof(hashes: string[], index: number): string[] {
  const path = (leaves: Buffer[], m: number): Buffer[] => {
    if (leaves.length <= 1) return [];
    const k = split(leaves.length);
    return m < k ? [...path(leaves.slice(0, k), m), root(leaves.slice(k))] : [...path(leaves.slice(k), m - k), root(leaves.slice(0, k))];
  };
  return path(hashes.map(leaf), index).map((b) => b.toString("hex"));
}

/** The root that leaf `index` of `size` leaves and its audit path lead to. */
export function rootFromProof(hash: string, index: number, size: number, proof: string[]): string {
  const walk = (m: number, n: number, p: string[]): Buffer => {
    if (n === 1) return leaf(hash);
    const k = split(n);
    const sibling = Buffer.from(p[p.length - 1]!, "hex");
    return m < k ? node(walk(m, k, p.slice(0, -1)), sibling) : node(sibling, walk(m - k, n - k, p.slice(0, -1)));
  };
  if (index < 0 || index >= size || (proof.length === 0) !== (size === 1)) return "";
  return walk(index, size, proof).toString("hex");
}

const LOCK = "SELECT pg_advisory_xact_lock(hashtext('linkage-hub:audit'))";

/** Appends a record at the end of the chain; several nodes append in one order. */
export function appendRecord(db: Db, record: AuditEntry): Promise<StoredRecord> {
  return db.transaction((tx) => appendRecordIn(tx, record));
}

/** The same, inside a transaction of the caller's (the record commits with the caller's work). */
export async function appendRecordIn(tx: Queryable, record: AuditEntry): Promise<StoredRecord> {
  return (await appendRecords(tx, [record]))[0]!;
}

/** The chain's last record, as a writer that is the database's only one may know it. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/**
 * Appends `records` in their order, in `tx`: one lock, one read of the head, one INSERT, so a
 * batch of concurrent requests' records costs about what one record does. The chain is the same
 * as if they were appended one by one. Given the `head`, the lock and the read are skipped: only
 * for the database's only writer.
 */
export async function appendRecords(tx: Queryable, records: AuditEntry[], head?: ChainHead): Promise<StoredRecord[]> {
  if (!records.length) return [];
  if (!head) await tx.query(LOCK);
  const [last] = head ? [head] : await tx.query<{ seq: string; hash: string }>("SELECT seq, hash FROM hub.audit_record ORDER BY seq DESC LIMIT 1");
  let seq = last ? Number(last.seq) : 0;
  let prevHash = last?.hash ?? GENESIS;
  const stored = records.map((record) => {
    seq++;
    const hash = recordHash(seq, prevHash, record);
    const r = { seq, record, prevHash, hash };
    prevHash = hash;
    return r;
  });
  const rows = stored.map((_, i) => `($${4 * i + 1}, $${4 * i + 2}, $${4 * i + 3}, $${4 * i + 4})`).join(", ");
  const params = stored.flatMap((r) => [r.seq, JSON.stringify(r.record), r.prevHash, r.hash]);
  await tx.query(`INSERT INTO hub.audit_record (seq, record, prev_hash, hash) VALUES ${rows}`, params);
  return stored;
}

export const signCheckpoint = (keys: AuditKeys, c: Checkpoint) => sign(null, Buffer.from(canonical(c)), keys.signingKey).toString("base64");
export const checkpointSignatureValid = (publicKey: KeyObject, s: SignedCheckpoint) =>
  verify(null, Buffer.from(canonical(s.checkpoint)), publicKey, Buffer.from(s.signature, "base64"));

/** Signs the records appended since the last checkpoint, if any. */
export async function checkpoint(db: Db, keys: AuditKeys): Promise<SignedCheckpoint | undefined> {
  return db.transaction(async (tx) => {
    await tx.query(LOCK);
    const [prev] = await tx.query<{ checkpoint: Checkpoint }>("SELECT checkpoint FROM hub.audit_checkpoint ORDER BY seq DESC LIMIT 1");
    const from = prev ? prev.checkpoint.seq + 1 : 1;
    const rows = await tx.query<{ seq: string; hash: string }>("SELECT seq, hash FROM hub.audit_record WHERE seq >= $1 ORDER BY seq", [from]);
    if (!rows.length) return undefined;
    const c: Checkpoint = {
      seq: Number(rows[rows.length - 1]!.seq),
      firstSeq: from,
      headHash: rows[rows.length - 1]!.hash,
      merkleRoot: merkleRoot(rows.map((r) => r.hash)),
      prevCheckpointHash: prev ? checkpointHash(prev.checkpoint) : GENESIS,
      signedAt: new Date().toISOString(),
      keyId: keys.keyId,
    };
    const signed = { checkpoint: c, signature: signCheckpoint(keys, c) };
    await tx.query("INSERT INTO hub.audit_checkpoint (seq, checkpoint, signature) VALUES ($1, $2, $3)", [c.seq, JSON.stringify(c), signed.signature]);
    return signed;
  });
}

export async function readRecords(db: Queryable, afterSeq: number, limit: number): Promise<StoredRecord[]> {
  const rows = await db.query<{ seq: string; record: AuditEntry; prev_hash: string; hash: string }>(
    "SELECT * FROM hub.audit_record WHERE seq > $1 ORDER BY seq LIMIT $2",
    [afterSeq, limit],
  );
  return rows.map((r) => ({ seq: Number(r.seq), record: r.record, prevHash: r.prev_hash, hash: r.hash }));
}

export type LogPage = Schemas["AuditLogPage"];

/** Records per page read back: about 0.7 KB each, so a page with its checkpoints stays well under NATS's 1 MB message limit. */
export const AUDIT_PAGE = 500;

/**
 * Up to `limit` records after `afterSeq`, with the checkpoints that sign them; on the last page
 * also the checkpoints past its end, so a cut tail shows. Checkpoints are read before records: one
 * signed in between would otherwise look like it covers records that are not there.
 */
export async function readPage(db: Queryable, afterSeq: number, limit: number): Promise<LogPage> {
  const rows = await db.query<SignedCheckpoint>("SELECT checkpoint, signature FROM hub.audit_checkpoint WHERE seq > $1 ORDER BY seq LIMIT $2", [
    afterSeq,
    limit,
  ]);
  const records = await readRecords(db, afterSeq, limit);
  const end = records.length === limit ? records[limit - 1]!.seq : Infinity;
  const checkpoints = rows.map((r) => ({ checkpoint: r.checkpoint, signature: r.signature })).filter((c) => c.checkpoint.seq <= end);
  return { records, checkpoints };
}

/** The checkpoint that signs record `seq`, if one does yet. */
export async function checkpointOf(db: Queryable, seq: number): Promise<SignedCheckpoint | undefined> {
  const [row] = await db.query<SignedCheckpoint>("SELECT checkpoint, signature FROM hub.audit_checkpoint WHERE seq >= $1 ORDER BY seq LIMIT 1", [seq]);
  return row && { checkpoint: row.checkpoint, signature: row.signature };
}

/** Where a verification stands after a checkpoint: a later one resumes from there. */
export interface ChainPosition {
  seq: number;
  hash: string;
  checkpointHash: string;
}

export interface Verdict {
  ok: boolean;
  records: number;
  /** The chain is proven intact up to this record (the last valid checkpoint's). */
  provenUpTo: number;
  /** The position at `provenUpTo`, to resume from. */
  proven?: ChainPosition;
  /** Records after the last checkpoint: chained, not yet signed. */
  unsigned: number;
  broken?: { seq: number; problem: string };
}

/**
 * Checks the log, from the start or from a position an earlier verification proved: every
 * record against its neighbours, every checkpoint against its signature and the records.
 */
export async function verifyChain(next: (afterSeq: number) => Promise<LogPage>, publicKey: KeyObject, from?: ChainPosition): Promise<Verdict> {
  const bySeq = new Map<number, SignedCheckpoint>();
  let lastSigned = 0;
  let prevCheckpointHash = from?.checkpointHash ?? GENESIS;
  let prevHash = from?.hash ?? GENESIS;
  let provenUpTo = from?.seq ?? 0;
  let proven = from;
  let expected = provenUpTo + 1;
  let batch: string[] = [];
  const fail = (seq: number, problem: string): Verdict => ({ ok: false, records: expected - 1, provenUpTo, proven, unsigned: 0, broken: { seq, problem } });

  for (;;) {
    const page = await next(expected - 1);
    for (const c of page.checkpoints) {
      bySeq.set(c.checkpoint.seq, c);
      lastSigned = Math.max(lastSigned, c.checkpoint.seq);
    }
    if (!page.records.length) break;
    for (const r of page.records) {
      if (r.seq !== expected)
        return fail(expected, r.seq > expected ? `record ${expected} is missing (deleted): the log jumps to ${r.seq}` : `record ${r.seq} appears again`);
      if (r.prevHash !== prevHash)
        return fail(
          r.seq,
          `record ${r.seq} does not follow record ${r.seq - 1} (its previous hash differs): a record before it was changed, removed or reordered`,
        );
      if (recordHash(r.seq, r.prevHash, r.record) !== r.hash) return fail(r.seq, `record ${r.seq} was altered: its content does not give its hash`);
      prevHash = r.hash;
      batch.push(r.hash);
      const signed = bySeq.get(r.seq);
      if (signed) {
        const c = signed.checkpoint;
        if (!checkpointSignatureValid(publicKey, signed))
          return fail(r.seq, `checkpoint at record ${r.seq} has no valid signature: forged, or signed by another key`);
        if (c.prevCheckpointHash !== prevCheckpointHash || c.firstSeq !== provenUpTo + 1)
          return fail(r.seq, `checkpoint at record ${r.seq} does not follow the previous checkpoint: a checkpoint was removed`);
        if (c.headHash !== r.hash || c.merkleRoot !== merkleRoot(batch))
          return fail(r.seq, `records ${c.firstSeq} to ${r.seq} differ from what checkpoint ${r.seq} signed: the chain was rewritten`);
        prevCheckpointHash = checkpointHash(c);
        provenUpTo = r.seq;
        proven = { seq: r.seq, hash: r.hash, checkpointHash: prevCheckpointHash };
        batch = [];
      }
      expected++;
    }
  }
  if (lastSigned > provenUpTo)
    return fail(provenUpTo + 1, `the log ends at record ${expected - 1}, but a checkpoint signed records up to ${lastSigned}: its tail was cut`);
  return { ok: true, records: expected - 1, provenUpTo, proven, unsigned: expected - 1 - provenUpTo };
}

export interface Bundle {
  format: string;
  linkageId: string;
  publicKey: string;
  keyId: string;
  checkpoints: SignedCheckpoint[];
  records: { entry: StoredRecord; checkpointSeq: number; index: number; proof: string[] }[];
  pending: number;
}

/** Checks an exported bundle without the database: each record's hash, its inclusion in a checkpoint, each checkpoint's signature. */
export function verifyBundle(bundle: Bundle, publicKey: KeyObject): { ok: true; records: number } | { ok: false; problem: string } {
  if (bundle.format !== "linkage-hub-audit-bundle/1") return { ok: false, problem: `not an audit bundle (format ${bundle.format})` };
  const checkpoints = new Map(bundle.checkpoints.map((c) => [c.checkpoint.seq, c]));
  for (const c of bundle.checkpoints)
    if (!checkpointSignatureValid(publicKey, c)) return { ok: false, problem: `checkpoint ${c.checkpoint.seq} has no valid signature by the trusted key` };
  for (const { entry: r, checkpointSeq, index, proof } of bundle.records) {
    if (recordHash(r.seq, r.prevHash, r.record) !== r.hash) return { ok: false, problem: `record ${r.seq} was altered: its content does not give its hash` };
    const signed = checkpoints.get(checkpointSeq);
    if (!signed) return { ok: false, problem: `record ${r.seq} names checkpoint ${checkpointSeq}, which the bundle lacks` };
    const size = signed.checkpoint.seq - signed.checkpoint.firstSeq + 1;
    if (r.seq - signed.checkpoint.firstSeq !== index || rootFromProof(r.hash, index, size, proof) !== signed.checkpoint.merkleRoot)
      return { ok: false, problem: `record ${r.seq} is not among the records checkpoint ${checkpointSeq} signed` };
    if (r.record.linkageId !== bundle.linkageId) return { ok: false, problem: `record ${r.seq} belongs to another linkage` };
  }
  return { ok: true, records: bundle.records.length };
}
