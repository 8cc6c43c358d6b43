-- The crowd-dispatch linkage each key place has (the latest started): the crowd.level.changed
-- consumer reads and writes it under a transaction-scoped advisory lock per place, so events
-- of one place handled at once by two hub nodes start one linkage, and signal it thereafter.
CREATE TABLE crowd_dispatch (
  place_id      text PRIMARY KEY,
  workflow_id   text NOT NULL,
  linkage_id    uuid NOT NULL,
  episode_start timestamptz NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT now()
);
