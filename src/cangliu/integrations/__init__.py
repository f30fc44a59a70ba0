"""Outbound adapters (webhooks, chat robots, SMTP) arrive with alerts."""
