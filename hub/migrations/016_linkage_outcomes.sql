-- How each linkage ended, written by its last activity (announceEnd) before its workflow closes,
-- so the linkage's status and a repeated start answer from here once Temporal has dropped the
-- closed workflow (its namespace retention). No personal data: the result keeps its references
-- (e-ID, registration, change and order numbers), not id numbers, names, addresses or credentials.
CREATE TABLE linkage_outcome (
  linkage_id uuid PRIMARY KEY REFERENCES linkage (id),
  status text NOT NULL,                   -- COMPLETED, REFUSED, CANCELLED or FAILED
  reason text,
  progress jsonb NOT NULL,                -- stepsDone, and serviceCalls / permit where the linkage has them
  result jsonb,                           -- the result's references (COMPLETED)
  closed_at timestamptz NOT NULL DEFAULT now()
);
