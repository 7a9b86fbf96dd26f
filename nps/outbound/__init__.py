"""Outbound webhooks: events into an outbox in their own transaction (events), the wire
formats and signatures (formats), sending with retries (sending)."""
