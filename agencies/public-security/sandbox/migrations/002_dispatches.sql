-- Police units and their dispatches to key places: a dispatch is requested for a number of
-- units, confirmed with the units it got (or answered NO_UNITS), and released, which makes its
-- units available again.

CREATE TABLE unit (
  unit_id         text PRIMARY KEY CHECK (unit_id ~ '^PU-[0-9]{4}$'),
  call_sign       text NOT NULL,
  status          text NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'dispatched', 'off-duty')),
  dispatch_id     text,
  available_since timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'dispatched') = (dispatch_id IS NOT NULL))
);

CREATE TABLE dispatch (
  dispatch_id     text PRIMARY KEY,
  reference       text NOT NULL,
  place_id        text NOT NULL REFERENCES key_place (place_id),
  units_requested integer NOT NULL CHECK (units_requested BETWEEN 1 AND 20),
  reason          text,
  status          text NOT NULL DEFAULT 'REQUESTED' CHECK (status IN ('REQUESTED', 'CONFIRMED', 'NO_UNITS', 'RELEASED')),
  unit_ids        jsonb NOT NULL DEFAULT '[]',
  requested_at    timestamptz NOT NULL DEFAULT now(),
  confirmed_at    timestamptz,
  released_at     timestamptz,
  release_reason  text
);
CREATE INDEX dispatch_place ON dispatch (place_id, requested_at);
