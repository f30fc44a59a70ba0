"""Repositories: load and save rows for services, converting to core values. They never commit."""
