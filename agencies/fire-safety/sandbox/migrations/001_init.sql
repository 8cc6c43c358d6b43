-- The fire safety sandbox: the fire service's own records, in its own schema (applied by
-- platform/db.ts migrate() with search_path set to fire_safety).

-- The officers who decide; each venue is reviewed by one of them.
CREATE TABLE officer (
  officer_id text PRIMARY KEY,
  name       text NOT NULL
);

-- The venues the agency knows (the same ids at both catalogue agencies), their registered capacity and area.
CREATE TABLE venue (
  venue_id   text PRIMARY KEY CHECK (venue_id ~ '^VEN-[0-9]{4}$'),
  name       text NOT NULL,
  address    text NOT NULL,
  capacity   integer NOT NULL CHECK (capacity > 0),
  area       jsonb NOT NULL,
  officer_id text NOT NULL REFERENCES officer (officer_id)
);

-- Venue inspections: the request, the documents held (those sent with it and after), and the answer as sent.
CREATE TABLE review (
  id         text PRIMARY KEY,
  reference  text NOT NULL,
  venue_id   text NOT NULL REFERENCES venue (venue_id),
  request    jsonb NOT NULL,
  documents  jsonb NOT NULL,
  review     jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX review_reference ON review (reference);

-- One answer per Idempotency-Key (sandbox-kit/idempotency.ts).
CREATE TABLE idempotency (
  key          text PRIMARY KEY,
  operation    text NOT NULL,
  request_hash text NOT NULL,
  status       integer,
  body         jsonb,
  created_at   timestamptz NOT NULL DEFAULT now()
);
