-- The utilities sandbox: the utility's own records, in its own schema (applied by
-- platform/db.ts migrate() with search_path set to sandbox_utilities).

-- A supply address: one formatted line (street, district, city, province) and a post code.
CREATE TABLE premise (
  premise_id bigserial PRIMARY KEY,
  addr_line  text NOT NULL,
  post_code  text NOT NULL CHECK (post_code ~ '^[0-9]{6}$'),
  street     text NOT NULL,
  UNIQUE (post_code, addr_line)
);
CREATE INDEX premise_street ON premise (post_code, street);

-- One account per service and holder; a premise may hold several accounts of one service.
CREATE TABLE account (
  acct_no       text PRIMARY KEY CHECK (acct_no ~ '^[GEW][0-9]{10}$'),
  premise_id    bigint NOT NULL REFERENCES premise (premise_id),
  svc_code      text NOT NULL CHECK (svc_code IN ('G', 'E', 'W')),
  acct_status   text NOT NULL DEFAULT 'ACT' CHECK (acct_status IN ('ACT', 'SUS')),
  holder_id     text NOT NULL,
  holder_nm     text NOT NULL,
  susp_reason   text,
  status_chg_ts timestamptz NOT NULL DEFAULT now(),
  CHECK ((acct_status = 'SUS') = (susp_reason IS NOT NULL))
);
CREATE INDEX account_premise ON account (premise_id, svc_code);

-- Account numbers of accounts created after the seed (the seed numbers its holders 1..n).
CREATE SEQUENCE holder_seq START WITH 1000000;

-- Every suspension, restoration and transfer order carried out, whether it changed anything or not.
CREATE TABLE service_order (
  order_ref    text PRIMARY KEY,
  order_type   text NOT NULL CHECK (order_type IN ('SUSPEND', 'RESTORE', 'TRANSFER')),
  idem_key     text NOT NULL UNIQUE,
  premise_id   bigint NOT NULL REFERENCES premise (premise_id),
  svc_code     text,
  reason_txt   text,
  incident_ref text,
  new_holder   jsonb,
  acct_results jsonb NOT NULL,
  eff_ts       timestamptz NOT NULL
);
CREATE INDEX service_order_premise ON service_order (premise_id, order_type);

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
