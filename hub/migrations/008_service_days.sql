-- The catalogue's figures (catalogue/service-days.ts, catalogue/figures.ts): per catalogue
-- service or linkage type (`linkage/<type>`) and UTC day, what was counted that day, added to
-- in batches by every node. Latency is kept as counts per fixed bucket (LATENCY_BOUNDS_MS,
-- the last one open-ended), so a p95 over 7 or 30 days comes from summing days.
-- Rows older than 400 days are deleted.
CREATE TABLE service_day (
  key text NOT NULL,                         -- a catalogue service's id, or linkage/<type>
  day date NOT NULL,                         -- UTC
  calls bigint NOT NULL DEFAULT 0,           -- calls; for a linkage type, linkages that ended
  completed bigint NOT NULL DEFAULT 0,       -- answered without a hub or provider error; for a linkage type, COMPLETED
  latency bigint[] NOT NULL DEFAULT '{}',    -- counts per latency bucket
  probes bigint NOT NULL DEFAULT 0,          -- health probes
  probes_ok bigint NOT NULL DEFAULT 0,       -- health probes answered (below 500, in time)
  PRIMARY KEY (key, day)
);
CREATE INDEX service_day_day ON service_day (day);
