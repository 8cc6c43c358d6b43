-- Kept answers may hold personal data (a mediated provider's answer): their body is sealed with
-- the payload keys, and this names the key (null: kept in clear before sealing began).
ALTER TABLE idempotency_key ADD COLUMN body_key_id text;
