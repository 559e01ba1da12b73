"""Outgoing webhooks: target checks (SSRF) and delivery as jobs."""
