-- Events that must follow a database write: inserted in the write's transaction, published
-- by the outbox relay, then deleted. A crash in between leaves the row, never a lost event.
CREATE TABLE outbox (
  seq bigserial PRIMARY KEY,
  subject text NOT NULL,
  event jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The events each consumer group has acted on, written in the handler's own transaction:
-- a redelivered event is recognised and not acted on twice.
CREATE TABLE handled_event (
  consumer text NOT NULL,
  event_id text NOT NULL,
  handled_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
