-- The live crowd watch (crowd/): the key places it watches, kept in step with public security
-- (attractions from its key-place list, events' venues from the permits.key-place.* events;
-- `registered`: by hand with the CLI, for places it does not list),
-- each with its capacity, optional thresholds of its own and the last crowd level published
-- for it (so a rebuild after a restart does not publish it again); and the counting devices,
-- each registered at one place.
CREATE TABLE crowd_place (
  place_id text PRIMARY KEY,
  name text NOT NULL,
  capacity integer NOT NULL CHECK (capacity > 0),
  warning_at double precision CHECK (warning_at > 0),
  critical_at double precision CHECK (critical_at > 0),
  source text NOT NULL CHECK (source IN ('attraction', 'event', 'registered')),
  open boolean NOT NULL DEFAULT true,
  opens_at timestamptz,
  closes_at timestamptz,
  last_level text NOT NULL DEFAULT 'normal' CHECK (last_level IN ('normal', 'warning', 'critical')),
  last_level_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (warning_at IS NULL OR critical_at IS NULL OR warning_at < critical_at)
);

CREATE TABLE device (
  device_id text PRIMARY KEY,
  place_id text NOT NULL,
  kind text NOT NULL DEFAULT 'counter',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_place ON device (place_id);
