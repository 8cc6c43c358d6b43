-- Event permits: the venue capacity each issued permit holds for its hours (shared by permits
-- whose hours overlap; checked and taken under a lock per venue), and the organiser's contact,
-- personal data kept here rather than in the workflow's history or the events.
CREATE TABLE venue_reservation (
  linkage_id uuid PRIMARY KEY,
  venue_id text NOT NULL,
  capacity integer NOT NULL CHECK (capacity > 0),
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL CHECK (ends_at > starts_at),
  released_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX venue_reservation_held ON venue_reservation (venue_id, starts_at) WHERE released_at IS NULL;

CREATE TABLE permit_application (
  linkage_id uuid PRIMARY KEY,
  application_no text NOT NULL,
  organiser jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
