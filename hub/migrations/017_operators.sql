-- Operators: the people who may read workflow payloads in clear through the codec server
-- (the Temporal UI and CLI), each with a secret made by `linkage-hub operators add`.
CREATE TABLE operator (
  name text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
  secret_hash text NOT NULL,                 -- scrypt, salted; the secret itself is never stored
  created_at timestamptz NOT NULL DEFAULT now()
);
