/** The audit chain's pure logic: Merkle proofs, and what verification detects. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createSecretKey, generateKeyPairSync } from "node:crypto";
import {
  GENESIS,
  checkpointHash,
  inclusionProof,
  merkleRoot,
  recordHash,
  rootFromProof,
  signCheckpoint,
  verifyChain,
  type AuditEntry,
  type ChainPosition,
  type Checkpoint,
  type SignedCheckpoint,
  type StoredRecord,
} from "../../audit/chain";
import { keyIdOf, type AuditKeys } from "../../audit/keys";

const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const keys: AuditKeys = { subjectKey: createSecretKey(Buffer.alloc(32)), signingKey: privateKey, publicKey, keyId: keyIdOf(publicKey) };
const entry = (i: number): AuditEntry => ({
  at: new Date(Date.UTC(2026, 10, 28, 9, 0, i)).toISOString(),
  operation: "civil-registry.identity.verify",
  outcome: "OK",
  subjects: [createHash("sha256").update(String(i)).digest("hex")],
});

/** A chain of n records with checkpoints after each record in `at`. */
function chain(n: number, at: number[]): { records: StoredRecord[]; checkpoints: SignedCheckpoint[] } {
  const records: StoredRecord[] = [];
  const checkpoints: SignedCheckpoint[] = [];
  let prevHash = GENESIS;
  for (let seq = 1; seq <= n; seq++) {
    const record = entry(seq);
    const hash = recordHash(seq, prevHash, record);
    records.push({ seq, record, prevHash, hash });
    prevHash = hash;
    if (at.includes(seq)) {
      const first = checkpoints.length ? checkpoints[checkpoints.length - 1]!.checkpoint.seq + 1 : 1;
      const c: Checkpoint = {
        seq,
        firstSeq: first,
        headHash: hash,
        merkleRoot: merkleRoot(records.slice(first - 1).map((r) => r.hash)),
        prevCheckpointHash: checkpoints.length ? checkpointHash(checkpoints[checkpoints.length - 1]!.checkpoint) : GENESIS,
        signedAt: "2026-11-28T09:00:00.000Z",
        keyId: keys.keyId,
      };
      checkpoints.push({ checkpoint: c, signature: signCheckpoint(keys, c) });
    }
  }
  return { records, checkpoints };
}

/** Verifies, reading pages of 3 records as `readPage` serves them. */
const run = (records: StoredRecord[], checkpoints: SignedCheckpoint[], from?: ChainPosition) =>
  verifyChain(
    async (after) => {
      const page = records.filter((r) => r.seq > after).slice(0, 3);
      const end = page.length === 3 ? page[2]!.seq : Infinity;
      return { records: page, checkpoints: checkpoints.filter((c) => c.checkpoint.seq > after && c.checkpoint.seq <= end) };
    },
    publicKey,
    from,
  );

test("inclusion proofs lead to the Merkle root for every leaf of every size up to 33 (RFC 6962)", () => {
  for (let size = 1; size <= 33; size++) {
    const hashes = Array.from({ length: size }, (_, i) => createHash("sha256").update(`leaf ${i}`).digest("hex"));
    const root = merkleRoot(hashes);
    for (let i = 0; i < size; i++) {
      const proof = inclusionProof(hashes, i);
      assert.equal(rootFromProof(hashes[i]!, i, size, proof), root, `size ${size} leaf ${i}`);
      if (size > 1) assert.notEqual(rootFromProof(hashes[(i + 1) % size]!, i, size, proof), root);
    }
  }
});

test("an intact chain verifies up to its last checkpoint; newer records are chained, not yet signed", async () => {
  const { records, checkpoints } = chain(10, [4, 8]);
  const verdict = await run(records, checkpoints);
  assert.deepEqual(verdict, {
    ok: true,
    records: 10,
    provenUpTo: 8,
    proven: { seq: 8, hash: records[7]!.hash, checkpointHash: checkpointHash(checkpoints[1]!.checkpoint) },
    unsigned: 2,
  });
});

test("a verification resumes where an earlier one proved the chain, and still catches what follows", async () => {
  const { records, checkpoints } = chain(12, [4, 8, 12]);
  const first = await run(records.slice(0, 9), checkpoints.slice(0, 2));
  const resumed = await run(records, checkpoints, first.proven);
  assert.deepEqual([resumed.ok, resumed.provenUpTo, resumed.records], [true, 12, 12]);

  records[9]!.record = { ...records[9]!.record, outcome: "HUB_ERR_FORBIDDEN" };
  assert.match((await run(records, checkpoints, first.proven)).broken!.problem, /record 10 was altered/);
  // A resume position that is not the chain's own (forged, or from another log) fails at once.
  assert.equal((await run(records, checkpoints, { ...first.proven!, hash: "0".repeat(64) })).broken!.seq, 9);
});

test("altered, deleted, reordered, truncated and recomputed logs are each caught, naming the record", async () => {
  const altered = chain(10, [4, 8]);
  altered.records[5]!.record = { ...altered.records[5]!.record, partnerId: "someone-else" };
  assert.match((await run(altered.records, altered.checkpoints)).broken!.problem, /record 6 was altered/);

  const deleted = chain(10, [4, 8]);
  deleted.records.splice(2, 1);
  assert.deepEqual((await run(deleted.records, deleted.checkpoints)).broken!.seq, 3);

  const reordered = chain(10, [4, 8]);
  [reordered.records[2]!.record, reordered.records[3]!.record] = [reordered.records[3]!.record, reordered.records[2]!.record];
  assert.equal((await run(reordered.records, reordered.checkpoints)).broken!.seq, 3);

  const truncated = chain(10, [4, 8]);
  const cut = await run(truncated.records.slice(0, 6), truncated.checkpoints);
  assert.match(cut.broken!.problem, /tail was cut/);

  // Rewritten from record 6 on, every hash recomputed: consistent, but not what checkpoint 8 signed.
  const recomputed = chain(10, [4, 8]);
  let prevHash = recomputed.records[4]!.hash;
  for (const r of recomputed.records.slice(5)) {
    r.record = { ...r.record, outcome: "HUB_ERR_FORBIDDEN" };
    r.prevHash = prevHash;
    r.hash = recordHash(r.seq, prevHash, r.record);
    prevHash = r.hash;
  }
  assert.match((await run(recomputed.records, recomputed.checkpoints)).broken!.problem, /records 5 to 8 differ from what checkpoint 8 signed/);

  // A checkpoint forged by someone without the key.
  const forged = chain(10, [4, 8]);
  forged.checkpoints[1] = { ...forged.checkpoints[1]!, signature: Buffer.alloc(64).toString("base64") };
  assert.match((await run(forged.records, forged.checkpoints)).broken!.problem, /checkpoint at record 8 has no valid signature/);
});
