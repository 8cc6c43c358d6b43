-- The audit log: one record per exchange of personal data, hash-chained in one order
-- (appended under an advisory lock), with signed checkpoints over the chain head and a
-- Merkle root of the records since the previous checkpoint.
CREATE TABLE audit_record (
  seq bigint PRIMARY KEY,
  record jsonb NOT NULL,            -- time, request, linkage, partner, operation, purpose, subjects, outcome, hashes
  prev_hash text NOT NULL,
  hash text NOT NULL
);
CREATE INDEX audit_record_linkage ON audit_record ((record->>'linkageId'));
CREATE INDEX audit_record_subjects ON audit_record USING gin ((record->'subjects'));

CREATE TABLE audit_checkpoint (
  seq bigint PRIMARY KEY,           -- the last record it covers
  checkpoint jsonb NOT NULL,        -- seq, firstSeq, headHash, merkleRoot, prevCheckpointHash, signedAt, keyId
  signature text NOT NULL           -- Ed25519 over the canonical checkpoint, with a key kept outside the database
);
