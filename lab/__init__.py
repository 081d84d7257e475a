"""The local staging lab: a simulated GitHub, runners, SSH hosts, services, JIRA and real Prometheus/Alertmanager
on one machine, so a verification runs for real end to end. Start it with `python -m lab`."""
