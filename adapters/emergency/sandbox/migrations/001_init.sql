-- The emergency services sandbox: the agency's own records, in its own schema (applied by
-- platform/db.ts migrate() with search_path set to sandbox_emergency).

CREATE TABLE incident (
  incident_no      text PRIMARY KEY CHECK (incident_no ~ '^INC-[0-9A-F]{12}$'),
  sender           text NOT NULL,
  first_identifier text NOT NULL,
  status           text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'CLOSED')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (sender, first_identifier)
);

-- Every CAP alert received, as sent; an alert is identified by its sender and identifier.
CREATE TABLE alert (
  sender      text NOT NULL,
  identifier  text NOT NULL,
  incident_no text NOT NULL REFERENCES incident (incident_no),
  msg_type    text NOT NULL,
  sent        text NOT NULL,
  xml         text NOT NULL,
  receipt_id  text NOT NULL UNIQUE,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (sender, identifier)
);
CREATE INDEX alert_incident_no ON alert (incident_no);

-- The units the system can send; dispatch takes the longest-idle ones of each type.
CREATE TABLE unit (
  unit_id            text PRIMARY KEY,
  type               text NOT NULL CHECK (type IN ('FIRE_ENGINE', 'AMBULANCE', 'POLICE', 'HAZMAT')),
  last_dispatched_at timestamptz
);

CREATE TABLE dispatch (
  dispatch_id   text PRIMARY KEY,
  incident_no   text NOT NULL REFERENCES incident (incident_no),
  units         jsonb NOT NULL,
  dispatched_at timestamptz NOT NULL
);

-- Answers to requests with an Idempotency-Key, claimed in the change's own transaction (see
-- the civil registry sandbox): a concurrent request with the same key waits, then replays.
CREATE TABLE idempotency (
  key          text PRIMARY KEY,
  operation    text NOT NULL,
  request_hash text NOT NULL,
  status       integer,
  body         jsonb,
  created_at   timestamptz NOT NULL DEFAULT now()
);
