"""What the bot says when it refuses to harm staging, or could not restore it (tests assert on these constants)."""

from __future__ import annotations

# --------------------------------------------------------------------------------------------- unit names
UNIT_LOOKS_LIKE_OPTION = "must not start with '-' (systemctl would read it as an option)"
UNIT_BAD_CHARACTERS = "may contain only the characters of systemd unit names (letters, digits, :-_.\\@) and * ? [ ]"
UNIT_PROTECTED = "must not match ssh* or sshd* (stopping the SSH daemon would leave no way to undo)"
UNIT_SETTING_INVALID = "{path} {problem}; got {value!r}."

# --------------------------------------------------------------------------------------------- before a stop
PATTERN_MATCHED_NOTHING = (
    "`{pattern}` matches no unit loaded on {host} (systemctl list-units), so there is nothing the bot may stop."
)
PATTERN_MATCHED_TOO_MANY = (
    "`{pattern}` matches {count} units on {host} ({units}); at most {maximum} may be stopped "
    "(ssh.max_units_per_pattern). Nothing was stopped."
)
PATTERN_MATCHED_PROTECTED = "`{pattern}` matches {unit} on {host}, which the bot never stops. Nothing was stopped."
PATTERN_EXPANSION_FAILED = "`{command}` on {host} exited {status}: {stderr}"

# --------------------------------------------------------------------------------------------- restoring
UNDO_NOT_ACTIVE = "`{command}` on {host} exited 0 but {unit} is {state} (systemctl is-active)"
UNDO_EXITED = "`{command}` on {host} exited {status}: {stderr}"

# --------------------------------------------------------------------------------------------- refusals
UNDO_PENDING_REFUSED = (
    "staging is not restored yet: `{undo}` on {host} (verification `{verification_id}`) still fails ({error}); "
    "the bot retries it every {interval:g} s. No verification touching {host} starts until it succeeds."
)
UNIT_BUSY_REFUSED = (
    "verification `{other}` in `{environment}` is using {unit} on {host}; only one fault at a time per host. "
    "Ask again once it has finished."
)

# --------------------------------------------------------------------------------------------- replicas (issue 16)
OWNER_STOPPED_REASON = (
    "The replica that ran this verification ({owner}) stopped (interrupted during {{where}}); replica {replica} "
    "took it over once its lease expired and started again everything it had stopped."
)
ENVIRONMENT_BUSY_ELSEWHERE = "verification `{other}` is already running in {environment} (on another replica)"
