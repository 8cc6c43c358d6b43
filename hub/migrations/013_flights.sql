-- Drone flight reports (flights/): each report as answered (the operator kept here, never in an
-- event; their data read back only through an audited operation), the area as checked (a
-- GeoJSON Polygon), its hours and bounding box (the police's view and the withdrawals scan by
-- them), the outcome and why; and the event areas the flights service has learned from public
-- security (key places of kind event: the venue's area for the event's hours).
CREATE TABLE flight_report (
  report_id          text PRIMARY KEY CHECK (report_id ~ '^FR-[0-9A-F]{16}$'),
  partner_id         text,
  operator_id_number text NOT NULL,
  operator_name      text NOT NULL,
  drone_registration text NOT NULL,
  area               jsonb NOT NULL,
  west               double precision NOT NULL,
  south              double precision NOT NULL,
  east               double precision NOT NULL,
  north              double precision NOT NULL,
  max_altitude_m     integer NOT NULL CHECK (max_altitude_m BETWEEN 1 AND 500),
  starts_at          timestamptz NOT NULL,
  ends_at            timestamptz NOT NULL CHECK (ends_at > starts_at),
  outcome            text NOT NULL CHECK (outcome IN ('ACCEPTED', 'REFUSED', 'WITHDRAWN')),
  conflicts          jsonb NOT NULL DEFAULT '[]',
  ineligible         jsonb NOT NULL DEFAULT '[]',
  withdrawn_because  jsonb,
  answered_at        timestamptz NOT NULL DEFAULT now(),
  withdrawn_at       timestamptz
);
CREATE INDEX flight_report_accepted ON flight_report (starts_at, ends_at) WHERE outcome = 'ACCEPTED';

CREATE TABLE flight_event_area (
  place_id   text PRIMARY KEY,
  name       text NOT NULL,
  area       jsonb NOT NULL,
  opens_at   timestamptz NOT NULL,
  closes_at  timestamptz NOT NULL,
  open       boolean NOT NULL DEFAULT true,
  updated_at timestamptz NOT NULL DEFAULT now()
);
