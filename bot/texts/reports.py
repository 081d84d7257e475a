"""Every text a person reads in a verification report: check-run titles, the PR comment, JIRA comments, sign-off.

Renderers in bot/reporting fill these templates; tests assert on them. Placeholders use str.format names.
"""

from __future__ import annotations

from bot.model import ScenarioConclusion, ScenarioId, VerificationConclusion

#: The name of the overall check run; each scenario's is `CHECK_NAME_SCENARIO`.
CHECK_NAME = "verify-staging"
CHECK_NAME_SCENARIO = "verify-staging / {scenario}"

#: The seed's sign-off form names (T042 "Test Results").
SEED_TEST_NAMES: dict[ScenarioId, str] = {
    ScenarioId.NORMAL_DEPLOY: "Normal Deployment",
    ScenarioId.CONCURRENCY: "Concurrency Control",
    ScenarioId.FAILOVER: "Failover to Secondary",
    ScenarioId.ROLLBACK: "Health Check Rollback",
    ScenarioId.MONITORING: "Monitoring & Alerts",
}

SCENARIO_VERDICT: dict[ScenarioConclusion | None, str] = {
    ScenarioConclusion.PASSED: "PASS",
    ScenarioConclusion.FAILED: "FAIL",
    ScenarioConclusion.ERROR: "ERROR",
    ScenarioConclusion.SKIPPED: "SKIPPED",
    None: "RUNNING",
}

VERIFICATION_HEADLINE: dict[VerificationConclusion | None, str] = {
    VerificationConclusion.SUCCESS: "✅ Every selected scenario passed",
    VerificationConclusion.FAILURE: "❌ At least one scenario failed",
    VerificationConclusion.ERROR: "⚠️ The verification could not be carried out completely",
    VerificationConclusion.CANCELLED: "⏹️ The verification was cancelled",
    None: "⏳ Verification in progress",
}

# --------------------------------------------------------------------------------------------- check runs
CHECK_TITLE_QUEUED = "Queued"
CHECK_TITLE_RUNNING = "Running: {step}"
CHECK_TITLE_DONE = "{verdict}: {title}"
CHECK_TITLE_OVERALL_RUNNING = "Running {done}/{total} scenarios"
CHECK_TITLE_OVERALL_DONE = "{passed}/{total} scenarios passed"
CHECK_SUMMARY_QUEUED = "Waiting for the scenarios before this one (`{verification_id}`)."
CHECK_TITLE_NOT_RUN = "Not run"
CHECK_SUMMARY_NOT_RUN = "The verification ended ({conclusion}) before this scenario could run."
CHECK_REASON = "**Reason:** {reason}"
CRITERIA_HEADER = "| Criterion | Observed | Threshold | Result |\n|---|---|---|---|"
CRITERIA_ROW = "| {description} | {observed} | {threshold} | {result} |"
NO_CRITERIA = "_No criteria evaluated yet._"
TIMELINE_HEADER = "### Timeline\n\n| Step | Started | Ended | Outcome |\n|---|---|---|---|"
TIMELINE_ROW = "| {name} | {started} | {ended} | {outcome} |"
JOBS_HEADER = (
    "### Jobs\n\n| Run | Job | Runner | Created | Started | Completed | Conclusion |\n|---|---|---|---|---|---|---|"
)
JOBS_ROW = "| {run} | {job} | {runner} | {created} | {started} | {completed} | {conclusion} |"
NO_JOBS = "_No workflow jobs observed._"
CRITERION_RESULT = {True: "✅ pass", False: "❌ fail", None: "⚠️ not evaluated"}

ACTION_RERUN_LABEL = "Re-run failed"
ACTION_RERUN_DESCRIPTION = "Run the failed scenarios again"
ACTION_RERUN_ID = "rerun_failed"
ACTION_ABORT_LABEL = "Abort"
ACTION_ABORT_DESCRIPTION = "Stop the verification and restore"
ACTION_ABORT_ID = "abort"

#: Appended where a field was cut to GitHub's size limits.
TRUNCATED_NOTE = "\n\n… _cut here: {omitted} characters omitted (GitHub's size limit); see verification.json._"

# --------------------------------------------------------------------------------------------- PR comment
COMMENT_MARKER = "<!-- verify-staging:{verification_id} -->"
COMMENT_TITLE = "## verify-staging: {environment} verification `{verification_id}`"
COMMENT_INTRO = "{headline} · requested by @{requested_by} · head `{sha}`"
COMMENT_FORM = """### Test results

```
Date: {date}
Requested by: {requested_by}

Test Results:
{results}
```"""
FORM_RESULT_LINE = "[{mark}] Test {n}: {name} - {verdict}"
COMMENT_SCENARIOS_HEADER = "### Scenarios\n\n| Test | Scenario | Result | Why | Check run |\n|---|---|---|---|---|"
COMMENT_SCENARIO_ROW = "| {n} | {title} | {verdict} | {reason} | {link} |"
COMMENT_FAILED_HEADER = "### What failed"
COMMENT_FAILED_ROW = "- **{scenario}**: {description}: observed {observed}, threshold {threshold}"
COMMENT_MEASUREMENTS_HEADER = "### Key measurements\n\n| Scenario | Measurement | Value |\n|---|---|---|"
COMMENT_MEASUREMENT_ROW = "| {scenario} | {name} | {value} |"
COMMENT_TIMELINE_HEADER = "### Jobs per runner"
COMMENT_RESTORATIONS_HEADER = (
    "### Faults injected and restored\n\n| Host | Fault | Undo | Injected | Restored | OK |\n|---|---|---|---|---|---|"
)
COMMENT_RESTORATION_ROW = "| {host} | `{fault}` | `{undo}` | {injected} | {restored} | {ok} |"
COMMENT_NO_RESTORATIONS = "### Faults injected and restored\n\nNone."
COMMENT_JIRA = "JIRA: {issue} ({state})"
COMMENT_FOOTER_RUNNING = "_This comment is updated as the verification runs. `/verify-staging abort` stops it._"
COMMENT_FOOTER_DONE = """### Next steps

- Re-run: comment `/verify-staging` (or only some scenarios: `/verify-staging failover rollback`), or use
  **Re-run failed** on a check run.
- Sign off (SRE team{team}): `/sre-signoff approve [comment]`, `/sre-signoff reject <reason>` or
  `/sre-signoff revise <reason>`."""
COMMENT_API_CALLS = "_GitHub API calls for this verification: {calls}._"

# --------------------------------------------------------------------------------------------- JIRA
JIRA_STARTED = (
    "verify-staging started the {environment} verification {verification_id} for {repository} "
    "pull request #{pull_request} (head {sha}), requested by {requested_by}. Scenarios: {scenarios}."
)
JIRA_FINISHED = "h3. verify-staging: {environment} verification {verification_id} — {verdict}"
JIRA_TABLE_HEADER = "||Test||Scenario||Result||Criterion||Observed||Threshold||"
JIRA_TABLE_ROW = "|{n}|{title}|{verdict}|{criterion}|{observed}|{threshold}|"
JIRA_FAILED_INTRO = "What failed:"
JIRA_FAILED_ROW = "* {scenario}: {reason}"
JIRA_ALL_PASSED = "All selected scenarios passed: awaiting SRE sign-off (/sre-signoff on the pull request)."
JIRA_LINK = "Pull request: {url}"
JIRA_TRANSITION_MISSING = "JIRA issue {key} offers no transition to {target!r} (offered: {offered})"

# --------------------------------------------------------------------------------------------- sign-off
SIGNOFF_FORM = """Date: {date}
SRE Engineer: {engineer}
Signature: {engineer} (GitHub)

Test Results:
{results}

Sign-Off Criteria:
{criteria}

Comments:
{comments}

Approval Status: [{approved}] APPROVED  [{rejected}] REJECTED  [{revision}] NEEDS REVISION
{reason_line}"""
SIGNOFF_REJECT_REASON = "If rejected, reason: {reason}"
SIGNOFF_COMMENT = """## SRE sign-off: {status}

Verification `{verification_id}` of head `{sha}`.

{fence}
{form}
{fence}"""
SIGNOFF_JIRA = "h3. SRE sign-off: {status}\n{{noformat}}\n{form}\n{{noformat}}"
SIGNOFF_APPROVED = "APPROVED"
SIGNOFF_REJECTED = "REJECTED"
SIGNOFF_NOT_MEMBER = "@{user} only members of the `{team}` team may sign off a staging verification."
SIGNOFF_NO_TEAM = "@{user} sign-off is not configured for this repository (no `authorization.signoff_team`)."
SIGNOFF_NO_VERIFICATION = "@{user} there is no verification of this pull request to sign off: run `/verify-staging`."
SIGNOFF_STILL_RUNNING = "@{user} verification `{verification_id}` is still running: sign off once it has finished."
SIGNOFF_STALE = (
    "@{user} the pull request head is now `{head}`, but the latest verification `{verification_id}` checked "
    "`{sha}`: run `/verify-staging` again before signing off."
)
SIGNOFF_NOT_ALL_PASSED = (
    "@{user} approve is refused: not every scenario of verification `{verification_id}` passed ({failed}). "
    "Re-run them, or `/sre-signoff reject <reason>`."
)
SIGNOFF_USAGE = (
    "@{user} usage: `/sre-signoff approve [comment]`, `/sre-signoff reject <reason>` or "
    "`/sre-signoff revise <reason>` (a reason is required)."
)
SIGNOFF_JIRA_FAILED = "\n\n_JIRA could not be updated: {error}_"

# --------------------------------------------------------------------------------------------- check-run buttons
CHECKS_NOTHING_FAILED = "@{user} nothing to re-run: every scenario of verification `{verification_id}` passed."
CHECKS_ABORT_REQUESTED = (
    "@{user} asked verification `{verification_id}` to stop; everything it changed will be restored."
)
CHECKS_NOT_RUNNING = "@{user} verification `{verification_id}` is not running any more: nothing to abort."

# --------------------------------------------------------------------------------------------- terminal (demo)
TERMINAL_STARTED = "verification {verification_id} started: {scenarios}"
TERMINAL_STEP = "[{elapsed}] {scenario}: {step}"
TERMINAL_STEP_DONE = "[{elapsed}] {scenario}: {step}: {outcome} ({took:.1f} s)"
TERMINAL_SCENARIO_DONE = "[{elapsed}] {scenario}: {verdict}"
TERMINAL_TABLE_HEADER = "\nResults\n  #  scenario        result   why"
TERMINAL_CRITERION = "       - {description}: observed {observed}, threshold {threshold}"
TERMINAL_VERDICT = "\nverdict: {conclusion} ({calls} GitHub API calls for this verification)"
DEMO_CANNOT_START = "verify-staging demo: {what}; {mend}"
DEMO_REPORT_WRITTEN = (
    "report written to {directory} (verification.json, report.md, timeline.svg, timeline.png, lab-truth.jsonl)"
)
DEMO_PR = "pull request: {url}"

# --------------------------------------------------------------------------------------------- pull request
#: After COMMENT_INTRO: the branch that was verified ({ref} is an escaped code span).
COMMENT_BRANCH = " · branch {ref}"
#: After JIRA_STARTED: the pull request's title and branch (escaped Jira wiki text).
JIRA_STARTED_PULL = " Pull request: {title} (branch {ref})."

# --------------------------------------------------------------------------------------------- the verified commit
TESTED_COMMIT_DESCRIPTION = "The workflow run and its jobs tested the requested commit."
TESTED_COMMIT_WRONG = (
    "Run {run_id} tested commit `{observed}`, not the requested `{expected}` (the branch moved): "
    "it is not evidence for this pull request's commit."
)
NO_COMMIT = "no commit at all"
HEAD_MOVED_REASON = "{user} pushed `{sha}` to the pull request while it was being verified"
PULL_CLOSED_REASON = "{user} closed the pull request (head `{sha}`) while it was being verified"
SIGNOFF_RUN_OTHER_COMMIT = (
    "@{user} sign-off is refused: run {run_id} of verification `{verification_id}` tested `{observed}`, "
    "not the pull request's head `{head}`. Run `/verify-staging` again."
)
SIGNOFF_SELF = (
    "@{user} you opened this pull request, so you may not approve it "
    "(`authorization.allow_self_signoff` is off): ask another member of `{team}`."
)

# --------------------------------------------------------------------------------------------- JIRA attachments
#: In the results comment: `[^name]` links, one per file attached at the end (report.md, verification.json, ...).
JIRA_ATTACHMENTS = "Report files: {links}"

# ------------------------------------------------------------------------------------- sign-off: revise, criteria
SIGNOFF_NEEDS_REVISION = "NEEDS REVISION"
SIGNOFF_REVISE_REASON = "Revision needed: {reason}"
#: The seed's five sign-off criteria (T042, "SRE Sign-Off"), word for word.
SIGNOFF_CRITERIA = (
    "All 5 test scenarios passed successfully",
    "Monitoring and alerting operational",
    "Runbooks reviewed and approved",
    "No critical issues identified",
    "Team confident in production rollout",
)
SIGNOFF_CRITERION_LINE = "[{mark}] {n}. {criterion} - {state}"
SIGNOFF_FROM_VERIFICATION = "met in verification {verification_id}"
SIGNOFF_NOT_MET = "not met in verification {verification_id} ({why})"
SIGNOFF_AFFIRMED = "affirmed by @{engineer} by approving"
SIGNOFF_NOT_AFFIRMED = "not affirmed: @{engineer} {outcome}"
#: How SIGNOFF_NOT_AFFIRMED names a decision that is not an approval (keys: bot.reporting.signoff_form.Outcome).
SIGNOFF_OUTCOME = {"approved": "approved", "rejected": "rejected", "needs-revision": "asked for a revision"}
JIRA_RESEND_DONE = "attached to {issue}: {names}"
JIRA_RESEND_FAILED = "verification {verification_id}: JIRA still refuses the files ({error}); try again later"
JIRA_RESEND_UNKNOWN = "no verification {verification_id} in the store (the id is in the PR comment and the check runs)"
JIRA_RESEND_NOTHING = "verification {verification_id} is still running or reports to no JIRA issue: nothing to attach"
JIRA_RESEND_NO_JIRA = "JIRA_URL is not set: there is no JIRA to attach the files to"

# --------------------------------------------------------------------------------------------- the deploy job's log
DEPLOY_LOG_STEP = "read deploy log"
DEPLOY_LOG_CLEAN_DESCRIPTION = "The deploy job's log has no `##[error]` line."
#: {first} is the first error line as the log has it (the renderers escape it for where it is shown).
DEPLOY_LOG_ERRORS = 'The deploy job\'s log has {count} error line(s), the first: "{first}".'
DEPLOY_LOG_RUNNER_DESCRIPTION = "The deploy job's log names, in Set up job, the runner GitHub reported for the job."
DEPLOY_LOG_RUNNER_WRONG = "The deploy job's log says it ran on {logged}, but GitHub reported {reported}."
DEPLOY_LOG_NO_RUNNER_LINE = "no runner (no Runner name line)"
DEPLOY_LOG_NO_REPORTED_RUNNER = "no runner"
DEPLOY_LOG_UNREADABLE = "GitHub did not serve the deploy job's log ({error}), so it could not be checked."
DEPLOY_LOG_NO_JOB = "There was no deploy job, so there was no log to check."

# --------------------------------------------------------------------------------------------- monitoring credentials
#: A 401/403 from Prometheus, Alertmanager or Grafana (issue 14 §1): {variable} is the environment variable to set.
MONITORING_UNAUTHORIZED = "{system} answered {status}: set {variable} to {what}"
#: What each system's token must be, by system name as the adapters name it.
MONITORING_TOKEN_WHAT = {
    "Grafana": "a service-account token with Viewer access",
    "Prometheus": "a Bearer token its authenticating proxy accepts",
    "Alertmanager": "a Bearer token its authenticating proxy accepts",
}

# --------------------------------------------------------------------------------------------- a job nobody picks up
JOB_PICKED_UP_DESCRIPTION = "Every job of the run was picked up by a runner within the queue threshold."
#: {labels}: the job's `runs-on` labels; {online}: each online runner as JOB_NOT_PICKED_UP_RUNNER, comma-separated.
JOB_NOT_PICKED_UP = "{job} waited {waited} s: no online runner has all of [{labels}]; online: {online}"
JOB_NOT_PICKED_UP_RUNNER = "{name} [{labels}]"
JOB_NOT_PICKED_UP_NONE_ONLINE = "none"
