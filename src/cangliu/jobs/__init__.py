"""Background jobs (scheduler arrives with planning and alerts)."""
