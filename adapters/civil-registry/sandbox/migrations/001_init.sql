-- The civil registry sandbox: the agency's own records, in its own schema (applied by
-- platform/db.ts migrate() with search_path set to sandbox_civil_registry).

CREATE TABLE citizen (
  citizen_no     text PRIMARY KEY CHECK (citizen_no ~ '^[1-9][0-9]{16}[0-9X]$'),
  full_name      text NOT NULL,
  birth_date     date NOT NULL,
  sex            text NOT NULL CHECK (sex IN ('MALE', 'FEMALE')),
  marital_status text NOT NULL DEFAULT 'SINGLE' CHECK (marital_status IN ('SINGLE', 'MARRIED', 'DIVORCED', 'WIDOWED')),
  address        jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE eid (
  eid_no     text PRIMARY KEY,
  citizen_no text NOT NULL REFERENCES citizen (citizen_no),
  credential text NOT NULL,
  status     text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'REVOKED')),
  issued_at  timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX eid_citizen_no ON eid (citizen_no);
-- At most one active e-ID per citizen, whatever the application code does.
CREATE UNIQUE INDEX eid_one_active_per_citizen ON eid (citizen_no) WHERE status = 'ACTIVE';

CREATE TABLE signing_key (
  kid         text PRIMARY KEY,
  private_jwk jsonb NOT NULL,
  public_jwk  jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  active      boolean NOT NULL DEFAULT true
);
-- One key signs; retired keys stay published in the JWKS so their credentials still verify.
CREATE UNIQUE INDEX signing_key_one_active ON signing_key (active) WHERE active;

-- Answers to requests with an Idempotency-Key. The row is inserted first in the same
-- transaction as the change (status and body NULL until the answer is known), so a
-- concurrent request with the same key waits on it and then replays the stored answer.
CREATE TABLE idempotency (
  key          text PRIMARY KEY,
  operation    text NOT NULL,
  request_hash text NOT NULL,
  status       integer,
  body         jsonb,
  created_at   timestamptz NOT NULL DEFAULT now()
);
