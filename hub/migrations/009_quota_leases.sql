-- Quota leases (partners/quota-leases.ts): a gateway takes up to L tokens of a partner's window
-- in one write, clamped to what the window has left. PostgreSQL 15 cannot return a row's old
-- value from an upsert, so the write records what it granted and returns that.
ALTER TABLE quota_window ADD COLUMN last_lease integer NOT NULL DEFAULT 0;
