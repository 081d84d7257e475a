"""Every reply the `/verify-staging` command gives, as constants and str.format templates (tests assert on them)."""

from __future__ import annotations

HELP = """\
**verify-staging** proves the staging rollout of this pull request works, on the real staging runners.

| command | what it does |
|---|---|
| `/verify-staging` | run all five scenarios: {scenarios} |
| `/verify-staging SCENARIO ...` | run only the named scenarios (always in the order above) |
| `/verify-staging ... --dry-run` | show the plan (scenarios, hosts, commands, thresholds) and change nothing |
| `/verify-staging status` | show the latest verification of this pull request |
| `/verify-staging abort` | stop the running verification and restore everything it changed |
| `/verify-staging history` | the last 10 verifications here and how each measurement trends |
| `/verify-staging help` | this text |

Running scenarios needs at least `{minimum}` permission on this repository{teams}.
"""
HELP_TEAMS = "; {scenario} also needs membership of `{team}`"
UNKNOWN_WORD = "I did not understand `{word}`.\n\n"

NOT_AUTHORIZED = (
    "@{user} only people with at least `{minimum}` permission on this repository may run `/verify-staging` "
    "(the scenarios stop production runners); you have `{permission}`. Nothing was started."
)
NOT_IN_TEAM = "@{user} the `{scenario}` scenario may only be run by members of `{team}`. Nothing was started."
FORK_REFUSED = (
    "@{user} `/verify-staging` does not run on pull requests from forks: the workflow would deploy code from "
    "`{head_repo}` onto the staging machines of `{base_repo}`. Push the branch to `{base_repo}` and ask again."
)
PR_CLOSED = "@{user} this pull request is {state}; `/verify-staging` runs on open pull requests only."
ALREADY_RUNNING = (
    "@{user} a verification is already running in `{environment}`: `{verification_id}` on {link}. "
    "Wait for it to finish, or stop it with `/verify-staging abort` there."
)
NOT_CONFIGURED = "This repository is not configured for verify-staging (no environment is set for `{repository}`)."
START_FAILED = "@{user} verification `{verification_id}` could not be started: {error}"

DRY_RUN_HEADER = "**Dry run** (nothing was changed) — the plan for `{environment}` at `{head_sha}`:\n"
DRY_RUN_SCENARIO = "\n**{title}** (`{scenario}`)\n"
DRY_RUN_STEP = "- {step}\n"
DRY_RUN_THRESHOLDS = "\nThresholds: {thresholds}.\n"
PLAN_DISPATCH = "dispatch `{workflow}` on {ref} with inputs {inputs}"  # {ref}: an escaped code span
PLAN_CONCURRENT = "dispatch `{workflow}` twice at once and check the runs never overlap"
PLAN_STOP_RUNNER = "on `{host}` ({address}): `{command}`, then dispatch and expect `{runner}` to take the job"
PLAN_START_RUNNER = "on `{host}` ({address}): `{command}` (restore)"
PLAN_STOP_BACKEND = "on `{host}` ({address}): `{command}` so health checks fail, expect `{rollback}` to restore"
PLAN_START_BACKEND = "on `{host}` ({address}): `{command}` (restore)"
PLAN_HEALTH = "check {urls} (components {components} UP)"
PLAN_MONITORING = "check alert rules {rules} in {prometheus}, `{alert}` fires and reaches `{receiver}`"

STATUS_NONE = "No verification has run on this pull request yet."
STATUS = "Verification `{verification_id}` ({state}), requested by @{user} at `{head_sha}`:\n\n{scenarios}"
STATUS_LINE = "- `{scenario}`: {verdict}"
STATE_RUNNING = "running"
STATE_FINISHED = "finished: {conclusion}"

ABORT_REQUESTED = "@{user} asked verification `{verification_id}` to stop; everything it changed will be restored."
ABORT_NOTHING = "@{user} no verification is running in `{environment}`."

# Issue 12 §4: an abort acts only on the verification of the repository it was asked from.
ABORT_OTHER_REPOSITORY = (
    "@{user} the verification running in `{environment}` was started from another repository; "
    "only a comment there (or its check run's Abort button) can stop it."
)

# Issue 12 §7: a person who sends commands faster than the cooldown is told once, then not answered until it ends.
STALE_COMMAND = (
    "@{user} this command was posted {age} ago and reached verify-staging only now (it was unavailable meanwhile); "
    "it was not run. Post it again if it is still wanted."
)
COMMAND_COOLDOWN = (
    "@{user} please wait {seconds:g} s between `/verify-staging` commands; "
    "commands sent before then are ignored without a reply."
)
