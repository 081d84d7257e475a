"""`verify-staging doctor`: checks an installation against GitHub, the runners, the hosts, staging, monitoring and
JIRA before anyone runs a verification, one result a check (bot/doctor/*_checks.py), run by bot/doctor/run.py."""
