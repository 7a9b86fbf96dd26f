"""Development tools: not part of the product's domain (the SMS gateway simulator)."""
