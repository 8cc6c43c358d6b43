-- Partners: the agencies that call the hub over REST (OAuth 2.0 clients), the scopes and
-- purposes (legal bases) they are granted, their quota and their webhook.
CREATE TABLE partner (
  id text PRIMARY KEY,                       -- the OAuth client_id
  name text NOT NULL,
  scopes text[] NOT NULL,
  purposes text[] NOT NULL,
  quota integer NOT NULL,                    -- requests per quota window
  quota_window_s integer NOT NULL,
  webhook_url text,
  webhook_secret text,                       -- Standard Webhooks signing secret (whsec_...)
  secret_hash text NOT NULL,                 -- scrypt, salted; the secret itself is never stored
  previous_secret_hash text,                 -- the secret before the last rotation, accepted until:
  previous_secret_expires_at timestamptz,
  disabled_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Keys signing access tokens. Published in the JWKS from creation (so verifiers know a key
-- before it signs) until the tokens it signed have expired.
CREATE TABLE signing_key (
  kid text PRIMARY KEY,
  private_jwk jsonb NOT NULL,
  public_jwk jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  activated_at timestamptz,                  -- signs from then on; null: published ahead
  retired_at timestamptz                     -- signs no more
);

-- Requests each partner made per quota window, shared by every gateway node.
CREATE TABLE quota_window (
  partner_id text NOT NULL,
  window_start timestamptz NOT NULL,
  used integer NOT NULL,
  PRIMARY KEY (partner_id, window_start)
);

-- POSTs made with an Idempotency-Key, and the answer they got (null while running).
CREATE TABLE idempotency_key (
  partner_id text NOT NULL,
  key text NOT NULL,
  fingerprint text NOT NULL,                 -- method, path and body hash of the first request
  status integer,
  headers jsonb,
  body text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (partner_id, key)
);

-- Webhook deliveries: one row per event and partner, updated on every attempt.
CREATE TABLE webhook_delivery (
  event_id text NOT NULL,
  partner_id text NOT NULL,
  url text NOT NULL,
  event jsonb NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  last_status integer,
  last_error text,
  delivered_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (event_id, partner_id)
);

-- The partner that started each linkage (null: an internal caller or an event).
ALTER TABLE linkage ADD COLUMN partner_id text;
CREATE INDEX linkage_partner ON linkage (partner_id, created_at);
