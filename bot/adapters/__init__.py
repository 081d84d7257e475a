"""The adapters behind the ports of `bot/ports.py`, one per outside system: SSH, JIRA, monitoring, HTTP health
probes and the clock."""
