"""Texts of the evidence people look at: the timeline picture's labels and the verification's details page."""

from __future__ import annotations

# ---- the timeline picture (bot/reporting/timeline.py) ----
TIMELINE_TITLE = "{repository} #{pull_request} · {environment} · verification timeline"
TIMELINE_AXIS = "Time (UTC), {date}"
TIMELINE_NO_JOBS = "No workflow job ran on a runner."
TIMELINE_ALERTS_ROW = "alerts"
LEGEND_JOB_SUCCESS = "job succeeded"
LEGEND_JOB_FAILURE = "job failed"
LEGEND_JOB_OTHER = "job running, cancelled or skipped"
LEGEND_RUNNER_STOPPED = "fault: runner stopped"
LEGEND_BACKEND_STOPPED = "fault: backend stopped"
LEGEND_OTHER_FAULT = "fault: service stopped"
LEGEND_NOT_RESTORED = "fault not restored"
LEGEND_FAILOVER = "failover deadline: run created + {seconds:g} s"
LEGEND_ROLLBACK = "rollback deadline: health check failed + {seconds:g} s"
LEGEND_ALERT_FIRED = "alert fired"
LEGEND_ALERT_NOTIFIED = "on-call notified"
#: The text written on a fault's band: the host whose service was stopped.
BAND_LABEL = "{host} stopped"

# ---- the details page (bot/reporting/details_page.py, served by bot/details.py) ----
DETAILS_TITLE = "Verification of {repository} #{pull_request}"
DETAILS_SUMMARY = "Environment {environment}, head {sha}, requested by {requested_by}; started {started}, {finished}."
DETAILS_FINISHED = "finished {completed}"
DETAILS_NOT_FINISHED = "not finished yet"
DETAILS_PULL_REQUEST = "Pull request #{pull_request}"
DETAILS_JIRA = "JIRA {issue}"
DETAILS_TIMELINE = "Timeline"
DETAILS_TIMELINE_LINK = "Timeline as SVG"
DETAILS_TIMELINE_ALT = "Timeline of the verification's jobs, faults, deadlines and alerts"
DETAILS_SCENARIOS = "Scenarios"
DETAILS_CRITERIA_HEADER = ("Criterion", "Passed", "Observed", "Threshold", "Description")
DETAILS_RUNS = "Runs: "
DETAILS_MEASUREMENTS = "Measurements: "
DETAILS_NO_RUNS = "No workflow run."
DETAILS_FAULTS = "Faults and restorations"
DETAILS_FAULTS_HEADER = ("Host", "Fault", "Undo", "Injected", "Restored", "Restored OK")
DETAILS_NO_FAULTS = "No fault was injected."
DETAILS_NOT_FOUND = "No such verification."
DETAILS_YES = "yes"
DETAILS_NO = "no"
DETAILS_UNKNOWN = "not evaluated"
