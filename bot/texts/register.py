"""What `verify-staging register` says on its terminal and its local page (tests assert on these constants)."""

from __future__ import annotations

# --------------------------------------------------------------------------------------------- terminal
OPEN_PAGE = "Open {url} in a browser signed in to {github} and press the button to create the GitHub App."
WAITING = "Waiting up to {timeout:g} s for GitHub to send you back here (Ctrl-C to stop)."
CREATED = (
    "Created the GitHub App {slug} (App id {app_id}); its private key is in {key_path} and its settings in "
    "{env_path} (both readable by you only)."
)
NEXT_STEP = "Next: install the App on the repositories it verifies: {install_url}"
SERVE_WITH = "Then start it with those settings, e.g. `set -a; . {env_path}; set +a; verify-staging serve`."

# --------------------------------------------------------------------------------------------- refusals
TIMED_OUT = (
    "no App was created: nothing came back from GitHub within {timeout:g} s; run `verify-staging register` again "
    "(--timeout SECONDS gives more time)."
)
FILE_EXISTS = "{path} already exists; move it away or pass --force to replace it."
MANIFEST_MISSING = "the App manifest {path} is missing; run from the checkout or pass --manifest FILE."
MANIFEST_INVALID = "the App manifest {path} is not valid: {problem}."
BAD_URL = "{flag} must be an absolute http(s) URL, got {value!r}."
CONVERSION_GONE = (
    "GitHub answered {status} to the conversion of the App's code: the code was already used or has expired "
    "(it is valid for one hour, once). The App may exist already: look under {github}/settings/apps, delete it "
    "or keep it, and run `verify-staging register` again."
)
CONVERSION_FAILED = "GitHub answered {status} to the conversion of the App's code ({reason}); nothing was written."
CONVERSION_UNREACHABLE = "could not reach {api_url} to convert the App's code ({reason}); nothing was written."
CONVERSION_INCOMPLETE = "GitHub's answer to the conversion lacks {field}; nothing was written."
WRITE_FAILED = (
    "could not write {path} ({reason}); the App {slug} exists on GitHub: generate a private key in its settings "
    "({html_url}) and set the variables by hand, or delete it and run `verify-staging register` again."
)
UNSAFE_VALUE = "{name} contains characters an env file cannot hold unquoted; nothing was written."

# --------------------------------------------------------------------------------------------- local page
PAGE_TITLE = "Register verify-staging as a GitHub App"
PAGE_INTRO = (
    "This creates the GitHub App {name} on {target} with the permissions and events of app.yml; its webhooks go to "
    "{webhook_url}. GitHub asks you to confirm, then sends you back here."
)
PAGE_BUTTON = "Create the GitHub App on GitHub"
STATE_MISMATCH = (
    "This answer did not come from the registration this page started (its state does not match), so it was "
    "ignored. Start again from the page that `verify-staging register` printed."
)
CODE_MISSING = "GitHub sent no code back, so no App credentials can be fetched. Start again from the first page."
SUCCESS_TITLE = "Created {slug}"
SUCCESS_BODY = "Created {slug} — next: install it on the repositories it verifies."
SUCCESS_LINK = "Install {slug}"
FAILURE_TITLE = "The App was not registered"
