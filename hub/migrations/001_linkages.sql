-- Linkages started through the hub: the partner's business key, the workflow that runs it.
CREATE TABLE linkage (
  id uuid PRIMARY KEY,
  type text NOT NULL,
  business_key text NOT NULL,
  workflow_id text NOT NULL UNIQUE,
  request_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (type, business_key)
);
