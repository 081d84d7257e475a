"""What people read about scheduled verifications (issue 15 §1): the tracking issue, and how the comment, JIRA, the
details page and the check-run buttons speak of a verification no person asked for."""

from __future__ import annotations

#: `requested_by` of a scheduled verification (no person asked; the settings file did).
REQUESTED_BY = "schedule"

# --------------------------------------------------------------------------------------------- the tracking issue
#: The label the tracking issue carries and is found by (with its title).
TRACKING_LABEL = "verify-staging"
TRACKING_TITLE = "verify-staging: scheduled verification of {environment}"
TRACKING_BODY = (
    "verify-staging verifies **{environment}** on a schedule (`{cron}`, UTC) and posts each verification's result "
    "here as a comment, updated while it runs.\n\n"
    "The schedule is `environments.{environment}.schedule` in the App's settings file. Closing this issue does not "
    "stop it: a new tracking issue is opened for the next run."
)

# --------------------------------------------------------------------------------------------- reports
#: Instead of COMMENT_INTRO: no person asked, and `@schedule` would mention a GitHub user of that name.
COMMENT_INTRO = "{headline} · started by the schedule · head `{sha}`"
#: After COMMENT_INTRO for a scheduled verification, instead of the sign-off steps.
COMMENT_FOOTER = """### Next steps

- This verification was started by the schedule of **{environment}**; the next one starts at its next due time.
- To verify a pull request, comment `/verify-staging` on it. A scheduled verification needs no sign-off."""
JIRA_STARTED = (
    "verify-staging started the scheduled {environment} verification {verification_id} of {repository} "
    "branch {ref} (head {sha}). Scenarios: {scenarios}."
)
JIRA_ALL_PASSED = "All selected scenarios passed (scheduled verification: no sign-off is asked for)."
JIRA_LINK = "Tracking issue: {url}"
DETAILS_TITLE = "Scheduled verification of {repository} ({ref})"
DETAILS_TRACKING_ISSUE = "Tracking issue #{number}"
TIMELINE_TITLE = "{repository} {ref} · {environment} · scheduled verification timeline"

# --------------------------------------------------------------------------------------------- buttons
RERUN_REFUSED = (
    "@{user} verification `{verification_id}` was started by the schedule and is not re-run from its check run: the "
    "schedule starts the next one at its next due time. To verify now, comment `/verify-staging` on a pull request."
)
