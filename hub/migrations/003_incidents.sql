-- Emergency incidents (adapters/emergency): one row per incident, identified by the sender
-- and identifier of its first alert (id = name-based UUID of "incident:<sender>:<identifier>").
CREATE TABLE incident (
  id                 uuid PRIMARY KEY,
  sender             text NOT NULL,
  first_identifier   text NOT NULL,
  status             text NOT NULL CHECK (status IN ('OPEN', 'CLEARED', 'CANCELLED')),
  -- What the alert with the latest `sent` says: event, category, severity, urgency,
  -- certainty, headline, areaDesc, address (the contract's Incident fields).
  state              jsonb NOT NULL,
  state_sent         text NOT NULL,
  state_sent_at      timestamptz NOT NULL,
  agency_incident_no text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (sender, first_identifier)
);

-- Every alert the hub took, by its CAP identity (sender, identifier): a re-sent alert is
-- recognised here and changes nothing.
CREATE TABLE incident_alert (
  sender      text NOT NULL,
  identifier  text NOT NULL,
  incident_id uuid NOT NULL REFERENCES incident (id),
  msg_type    text NOT NULL CHECK (msg_type IN ('Alert', 'Update', 'Cancel', 'Ack', 'Error')),
  sent        text NOT NULL,
  seq         bigserial NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (sender, identifier)
);
CREATE INDEX incident_alert_incident ON incident_alert (incident_id, seq);
