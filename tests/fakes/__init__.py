"""One stand-in per outside system (bot.ports), shared by every unit test: github, ssh, probe, monitoring, clock,
jira. Each implements the port's Protocol and records what it was asked."""
