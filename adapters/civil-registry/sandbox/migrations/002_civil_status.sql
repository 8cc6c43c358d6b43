-- Revocation of e-IDs, marriage registration and household address changes.

ALTER TABLE eid ADD COLUMN revoked_at timestamptz;
ALTER TABLE eid ADD COLUMN revocation_reason text;
ALTER TABLE eid ADD CONSTRAINT eid_revoked_when CHECK ((status = 'REVOKED') = (revoked_at IS NOT NULL));

CREATE TABLE marriage (
  registration_no text PRIMARY KEY,
  spouse_a        text NOT NULL REFERENCES citizen (citizen_no),
  spouse_b        text NOT NULL REFERENCES citizen (citizen_no),
  registered_at   timestamptz NOT NULL,
  CHECK (spouse_a <> spouse_b)
);
CREATE INDEX marriage_spouse_a ON marriage (spouse_a);
CREATE INDEX marriage_spouse_b ON marriage (spouse_b);

-- One row per change; the household's citizens each get the new address in citizen.address.
CREATE TABLE address_change (
  change_no    text PRIMARY KEY,
  citizen_nos  jsonb NOT NULL,
  address      jsonb NOT NULL,
  effective_at timestamptz NOT NULL
);
