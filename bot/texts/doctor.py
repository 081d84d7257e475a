"""What `verify-staging doctor` prints, one line a check, and its summary in a `--dry-run` reply."""

from __future__ import annotations

LINE_OK = "ok  {what}"
LINE_PROBLEM = "problem  {what}: {fix}"
SUMMARY = "doctor: {ok} ok, {problems} problem{s}"
SUMMARY_PROBLEMS = "{summary}: {first}"
DRY_RUN_DOCTOR = "\n**Installation check** — {summary}\n"
TIMED_OUT = "no answer within {seconds:g} s; check that it is reachable from this machine"
FAILED = "{error}"

# -- GitHub ---------------------------------------------------------------------------------------------------
APP = "GitHub App JWT accepted (App `{slug}`)"
APP_WHAT = "GitHub App JWT"
APP_FIX = (
    "GitHub refused the App's JWT ({error}); check GITHUB_APP_ID, the private key (GITHUB_PRIVATE_KEY or "
    "GITHUB_PRIVATE_KEY_PATH) and GITHUB_API_URL"
)
INSTALLED = "App installed on {repository} (installation {installation})"
INSTALLED_WHAT = "App installed on {repository}"
INSTALLED_FIX = "{error}; install the App on {repository} (GitHub: Settings > Developer settings > GitHub Apps)"
PERMISSIONS = "permissions granted on {repository} cover app.yml"
PERMISSIONS_FIX = (
    "{missing} not granted; give the App these permissions and accept them on the installation "
    "(Settings > Integrations > GitHub Apps > Configure)"
)
PERMISSION_SHORT = "{name}: {wanted} (granted {granted})"
EVENTS = "events subscribed on {repository} cover app.yml"
EVENTS_FIX = "not subscribed to {missing}; subscribe the App to them (App settings > Permissions & events)"
WORKFLOW = "workflow {path} on {repository}'s default branch: workflow_dispatch, input {inputs}, concurrency group"
WORKFLOW_WHAT = "workflow {path} on {repository}'s default branch"
WORKFLOW_MISSING = "the file is not on the default branch; merge the deployment workflow first"
WORKFLOW_UNREADABLE = "the file is not valid YAML ({error})"
WORKFLOW_NO_DISPATCH = "it has no `on: workflow_dispatch` trigger; add one so verify-staging can dispatch it"
WORKFLOW_NO_INPUT = "workflow_dispatch declares no input {names}; declare them (GitHub rejects unknown inputs)"
WORKFLOW_NO_CONCURRENCY = (
    "it has no `concurrency` group; add one (e.g. `concurrency: {{group: deploy-staging}}`) so two deployments "
    "never overlap"
)
RUNNER = "runner {name} registered on {repository} with [{labels}], online"
RUNNER_WHAT = "runner {name} on {repository}"
RUNNER_MISSING = "not registered; registered: {registered}; register it with `config.sh --name {name}`"
RUNNER_LABELS = "lacks label{s} [{missing}] (has [{labels}]); add {them} with `config.sh --labels` or in the UI"
RUNNER_OFFLINE = "offline; start its service on its host and check its network path to GitHub"
NONE = "none"

# -- SSH ------------------------------------------------------------------------------------------------------
SUDO = "ssh {user}@{host}: `sudo -n systemctl status {unit}` allowed"
SUDO_WHAT = "ssh {user}@{host}: `sudo -n systemctl status {unit}`"
SUDO_REFUSED = (
    "sudo refused ({stderr}); allow {user} `systemctl start|stop|status {unit}` without a password in sudoers"
)
SUDO_NO_UNIT = "no loaded unit matches {unit} (exit {status}); fix the unit name in the settings"
SUDO_OTHER = "exit {status} ({stderr}); expected 0 to 3 from systemctl status"
SSH_FIX = "{error}"
SSH_HOST_KEY_FIX = "{error}; add the host's key to SSH_KNOWN_HOSTS after checking its fingerprint"

# -- staging HTTP ---------------------------------------------------------------------------------------------
BACKEND_HEALTH = "backend health {url}: {health}"
BACKEND_HEALTH_WHAT = "backend health {url}"
BACKEND_HEALTH_FIX = "{health}; expected UP with [{components}] UP"
BACKEND_INFO = "backend info {url}: version {version}"
BACKEND_INFO_WHAT = "backend info {url}"
BACKEND_INFO_FIX = "reports no build.version ({answer}); enable the Actuator info endpoint with build info"
FRONTEND = "frontend {url} answers {status}"
FRONTEND_WHAT = "frontend {url}"
FRONTEND_FIX = "answered {answer}; expected a 2xx or 3xx answer"
FRONTEND_VERSION = "frontend version {url}: {version}"
FRONTEND_VERSION_WHAT = "frontend version {url}"
FRONTEND_VERSION_FIX = 'reports no version ({answer}); serve JSON {{"version": ...}} there or unset version_url'

# -- monitoring -----------------------------------------------------------------------------------------------
RULES = "Prometheus alert rules loaded: {rules}"
RULES_WHAT = "Prometheus alert rules"
RULES_FIX = "{missing} not loaded (loaded: {loaded}); add the rule file (deploy/monitoring) and reload Prometheus"
RECEIVER = "Alertmanager receiver {receiver} present"
RECEIVER_WHAT = "Alertmanager receiver {receiver}"
RECEIVER_FIX = "not in Alertmanager's configuration (receivers: {receivers}); add it and reload Alertmanager"
DASHBOARD = "Grafana dashboard {uid} present with {panels} panels"
DASHBOARD_WHAT = "Grafana dashboard {uid}"
DASHBOARD_EMPTY = "it has no panels; import deploy/monitoring's dashboard"
DASHBOARD_PANEL_ERRORS = "panel queries failed: {errors}; check the dashboard's Prometheus datasource"

# -- JIRA -----------------------------------------------------------------------------------------------------
JIRA_OFF = "JIRA: no JIRA_URL or jira.issue configured, nothing to check"
JIRA_ISSUE = "JIRA issue {key} reachable (status {status})"
JIRA_ISSUE_WHAT = "JIRA issue {key}"
JIRA_ISSUE_FIX = "{error}; check JIRA_URL, the credentials (JIRA_TOKEN or JIRA_USER + JIRA_PASSWORD) and jira.issue"
JIRA_STATUS = "JIRA {key}: {target} reachable by a transition from {status}"
JIRA_STATUS_WHAT = "JIRA {key}: status {target}"
JIRA_STATUS_FIX = (
    "{status} offers transitions only to [{offered}]; set jira.statuses.{setting} to one of them or add the "
    "transition to the JIRA workflow"
)

# -- the store (SQLite file or PostgreSQL) ----------------------------------------------------------------------
STORE = "store {where}: {detail}"
STORE_WHAT = "store {where}"
SQLITE_WHERE = "SQLite file {path}"
SQLITE_MEMORY = "in memory, nothing outlives a restart (set `database` to a file path to keep state)"
SQLITE_NEW = "not created yet; {directory} is a writable directory to create it in"
SQLITE_FILE = "readable and writable"
SQLITE_NOT_A_FILE = "it is not a regular file; set `database` to the path of a file"
SQLITE_FILE_ACCESS = "the file is not readable and writable by this user; run as the bot's user or fix its owner"
SQLITE_NOT_A_DIRECTORY = "{directory} is not a directory; set `database` to a path inside a directory"
SQLITE_DIRECTORY_ACCESS = (
    "{directory} is not writable by this user (the bot creates the file and its -wal and -shm files there); "
    "run as the bot's user or fix the directory's owner"
)
SQLITE_UNREADABLE = "cannot be read as a SQLite database ({error}); point `database` at the bot's file or a new path"
POSTGRES_WHERE = "PostgreSQL {where} (DATABASE_URL)"
POSTGRES_ANSWERS = "answers"
POSTGRES_FIX = "{reason}; check DATABASE_URL and that PostgreSQL runs there and admits this user from this machine"
SCHEMA_WHAT = "store schema"
SCHEMA_FRESH = "store schema: empty, will be created at the first start ({known} migrations)"
SCHEMA_CURRENT = "store schema {version}: the one this verify-staging runs"
SCHEMA_PENDING = "store schema {version}: {pending} migration{s} will run at the next start"
SCHEMA_NEWER = (
    "the database was migrated by a newer verify-staging (schema {version}, this one knows {known}): upgrade this one"
)
NOTIFY = "PostgreSQL notification round trip: replicas wake each other at once (LISTEN/NOTIFY)"
NOTIFY_WHAT = "PostgreSQL notification round trip (LISTEN/NOTIFY)"
NOTIFY_FIX = (
    "a notification did not reach the listening connection; likely a pooler in transaction mode (PgBouncer) between "
    "the bot and PostgreSQL, where LISTEN does not work: events then reach a verification's owner only by the "
    "{poll:g} s poll; point DATABASE_URL at PostgreSQL itself or at a session-mode pool"
)
