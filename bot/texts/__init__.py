"""User-facing texts: every reply, report and refusal the project writes, kept in one place."""
