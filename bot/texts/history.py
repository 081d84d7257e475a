"""Texts of issue 15: regressions in the reports, the `/verify-staging history` reply and the history page."""

from __future__ import annotations

# ---- regressions (check run, PR comment, JIRA) ----
REGRESSED = "regressed"
#: After a concluded scenario's check-run title when a measurement regressed.
CHECK_TITLE_REGRESSED = " (regressed: {measurements})"
REGRESSIONS_HEADER = (
    "### ⚠️ Regressed\n\nStill within the threshold, but clearly worse than the recent baseline "
    "(median of the last {runs} passing runs):\n\n"
    "| Scenario | Measurement | Value | Baseline | Worse by |\n|---|---|---|---|---|"
)
REGRESSION_ROW = "| {scenario} | {measurement} **{mark}** | {value} | {baseline} | {worse} |"
#: Why a scenario failed when `regressions.fail` is set.
REGRESSION_REASON = "{measurement} regressed: {value} against a baseline of {baseline} ({worse})."
JIRA_REGRESSIONS_INTRO = "Regressed (within the threshold, worse than the median of the last passing runs):"
JIRA_REGRESSION_ROW = "* {scenario}: {measurement} *{mark}* — {value}, baseline {baseline} ({worse})"
WORSE_BY = "+{seconds} ({percent})"

# ---- `/verify-staging history` ----
HISTORY_NONE = "No verification of `{environment}` has finished yet."
HISTORY_HEADER = (
    "**History of `{environment}`**: the last {count} verifications, newest first.\n\n"
    "| When (UTC) | Verification | Trigger | Ref | Commit | Result |\n|---|---|---|---|---|---|"
)
HISTORY_ROW = "| {when} | `{verification_id}` | {trigger} | {ref} | `{sha}` | {verdict}{regressed} |"
HISTORY_ROW_REGRESSED = " ⚠️ regressed"
HISTORY_TRENDS_HEADER = (
    "\n\n**Trends** (oldest → newest; ✓ passed, ✗ failed, · not measured):\n\n"
    "| Scenario | Measurement | Trend | Last | Median |\n|---|---|---|---|---|"
)
HISTORY_TREND_ROW = "| {scenario} | {measurement} | `{sparkline}` {marks} | {last} | {median} |"
HISTORY_NO_TRENDS = "\n\nNo measurements were recorded in these verifications."

# ---- GET /verifications ----
PAGE_TITLE = "verify-staging: verification history"
PAGE_INTRO = "The latest verifications per environment, newest first, and how each measurement trends over them."
PAGE_NONE = "No verification has finished yet."
PAGE_UNAUTHORIZED = "This page needs the history token (VERIFY_STAGING_HISTORY_TOKEN) as a Bearer token."
