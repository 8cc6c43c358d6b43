-- The service catalogue (X-Road / GovStack IM style). Every partner is a subsystem,
-- {instance}/{memberClass}/{memberCode}/{subsystemCode}; partners registered before get
-- {HUB_INSTANCE}/GOV/{id}/default.
ALTER TABLE partner ADD COLUMN subsystem text;
UPDATE partner SET subsystem = current_setting('hub.instance') || '/GOV/' || id || '/default' WHERE subsystem IS NULL;
ALTER TABLE partner ALTER COLUMN subsystem SET NOT NULL;
ALTER TABLE partner ADD CONSTRAINT partner_subsystem_key UNIQUE (subsystem);

-- Providers' REST services, each with the OpenAPI document that is its contract.
CREATE TABLE catalogue_service (
  id text PRIMARY KEY,                       -- {subsystem}/{serviceCode}
  subsystem text NOT NULL,
  service_code text NOT NULL,
  base_url text NOT NULL,
  auth text NOT NULL DEFAULT 'none',         -- none | bearer:env:VAR | basic:env:VAR (a reference, never the secret)
  timeout_ms integer NOT NULL,
  document text NOT NULL,                    -- as registered, YAML or JSON
  methods jsonb NOT NULL,                    -- [{method, path, personalData}] of the document, for listing
  title text NOT NULL,
  version text NOT NULL,
  disabled_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX catalogue_service_subsystem ON catalogue_service (subsystem);

-- Access rights: a client subsystem may call an operation ('*': every one) of a service,
-- stating one of the purposes ('*': any).
CREATE TABLE catalogue_grant (
  client text NOT NULL,
  service_id text NOT NULL REFERENCES catalogue_service (id) ON DELETE CASCADE,
  method text NOT NULL,
  path text NOT NULL,
  purposes text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client, service_id, method, path)
);
CREATE INDEX catalogue_grant_service ON catalogue_grant (service_id);

-- Idempotent answers keep their body's bytes (a mediated answer need not be text).
ALTER TABLE idempotency_key ADD COLUMN body_base64 boolean NOT NULL DEFAULT false;
