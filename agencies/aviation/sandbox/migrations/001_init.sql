-- The aviation authority sandbox: the drone registry's own records, in its own schema (applied
-- by platform/db.ts migrate() with search_path set to aviation).

-- Registered drone operators: real name (as on the identity card) and licence class.
CREATE TABLE operator (
  id_number     text PRIMARY KEY CHECK (id_number ~ '^[0-9]{17}[0-9X]$'),
  name          text NOT NULL,
  licence_class text NOT NULL CHECK (licence_class IN ('A', 'B', 'C')),
  status        text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'SUSPENDED'))
);

-- Registered drones, each with its model and its owner's identity number.
CREATE TABLE drone (
  registration_no text PRIMARY KEY CHECK (registration_no ~ '^UA-[0-9]{4}-[0-9]{6}$'),
  model           text NOT NULL,
  owner_id_number text NOT NULL CHECK (owner_id_number ~ '^[0-9]{17}[0-9X]$'),
  status          text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'SUSPENDED', 'DEREGISTERED'))
);
CREATE INDEX drone_owner ON drone (owner_id_number);

-- No-fly zones: a GeoJSON Polygon each; `from_at`/`until_at` bound a temporary zone.
CREATE TABLE no_fly_zone (
  zone_id  text PRIMARY KEY CHECK (zone_id ~ '^NFZ-[0-9A-Z-]{4,32}$'),
  name     text NOT NULL,
  kind     text NOT NULL CHECK (kind IN ('AIRPORT', 'GOVERNMENT', 'TEMPORARY')),
  area     jsonb NOT NULL,
  from_at  timestamptz,
  until_at timestamptz,
  CHECK ((from_at IS NULL) = (until_at IS NULL) AND (from_at IS NULL OR from_at < until_at))
);
