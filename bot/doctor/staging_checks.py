"""The doctor's staging checks: SSH to each host with its known host key and `sudo -n systemctl status` allowed for
each unit the scenarios stop and start; the backend's health and info and the frontend answering."""

from __future__ import annotations

from bot.doctor.result import CheckResult, ok, problem
from bot.ports import HttpProbe, SSHError, SSHErrorKind, SSHPort
from bot.settings import EnvironmentSettings
from bot.texts import doctor as texts

#: systemctl status: 0 active, 1-3 not running in some way (3: inactive, which a stopped runner is); 4 no such unit
#: (systemd.io "systemctl status" exit codes, after the LSB init-script actions).
STATUS_ALLOWED = range(0, 4)
STATUS_NO_UNIT = 4
#: What sudo -n says instead of prompting (sudo(8) "-n, --non-interactive").
SUDO_REFUSALS = ("a password is required", "a terminal is required", "is not allowed to execute", "not in the sudoers")


def units(env: EnvironmentSettings) -> list[tuple[str, str]]:
    """(host, unit) the scenarios act on, each once, in settings order."""
    pairs = [(r.host, r.service) for r in env.runners] + [(env.backend.host, env.backend.service)]
    return list(dict.fromkeys(pairs))


async def check_sudo(ssh: SSHPort, *, user: str, host: str, unit: str, timeout: float) -> CheckResult:
    """One unit: the argv is fixed words and a unit name from the validated settings, never comment text."""
    what = texts.SUDO_WHAT.format(user=user, host=host, unit=unit)
    try:
        result = await ssh.run(host, ["sudo", "-n", "systemctl", "status", unit], timeout=timeout)
    except SSHError as exc:
        template = texts.SSH_HOST_KEY_FIX if exc.kind is SSHErrorKind.HOST_KEY else texts.SSH_FIX
        return problem(what, template.format(error=exc))
    stderr = " ".join(result.stderr.split())[:200]
    if any(refusal in result.stderr for refusal in SUDO_REFUSALS):
        return problem(what, texts.SUDO_REFUSED.format(stderr=stderr, user=user, unit=unit))
    globbed = any(c in unit for c in "*?[")
    # A glob that matches no loaded unit prints nothing, whatever the exit status says.
    if result.exit_status == STATUS_NO_UNIT or (globbed and not result.stdout.strip()):
        return problem(what, texts.SUDO_NO_UNIT.format(unit=unit, status=result.exit_status))
    if result.exit_status not in STATUS_ALLOWED:
        return problem(what, texts.SUDO_OTHER.format(status=result.exit_status, stderr=stderr or "no message"))
    return ok(texts.SUDO.format(user=user, host=host, unit=unit))


async def check_backend(probe: HttpProbe, env: EnvironmentSettings, *, timeout: float) -> list[CheckResult]:
    backend = env.backend
    health = await probe.health(backend.health_url, timeout=timeout)
    url = backend.health_url
    if health.up(backend.required_components):
        results = [ok(texts.BACKEND_HEALTH.format(url=url, health=health.describe()))]
    else:
        fix = texts.BACKEND_HEALTH_FIX.format(
            health=health.describe(), components=", ".join(backend.required_components)
        )
        results = [problem(texts.BACKEND_HEALTH_WHAT.format(url=url), fix)]
    results.append(await _version(probe, backend.info_url, timeout=timeout, frontend=False))
    return results


async def check_frontend(probe: HttpProbe, env: EnvironmentSettings, *, timeout: float) -> list[CheckResult]:
    url = env.frontend.url
    answer = await probe.get(url, timeout=timeout)
    if answer.status is not None and answer.status < 400:
        results = [ok(texts.FRONTEND.format(url=url, status=answer.status))]
    else:
        said = f"HTTP {answer.status}" if answer.status is not None else f"no answer ({answer.error})"
        results = [problem(texts.FRONTEND_WHAT.format(url=url), texts.FRONTEND_FIX.format(answer=said))]
    if env.frontend.version_url is not None:
        results.append(await _version(probe, env.frontend.version_url, timeout=timeout, frontend=True))
    return results


async def _version(probe: HttpProbe, url: str, *, timeout: float, frontend: bool) -> CheckResult:
    version = await probe.version(url, timeout=timeout)
    if version is not None:
        return ok((texts.FRONTEND_VERSION if frontend else texts.BACKEND_INFO).format(url=url, version=version))
    # Ask again for what it did answer: "no version" and "no answer" call for different mending.
    answer = await probe.get(url, timeout=timeout)
    said = f"HTTP {answer.status}" if answer.status is not None else f"no answer: {answer.error}"
    if frontend:
        return problem(texts.FRONTEND_VERSION_WHAT.format(url=url), texts.FRONTEND_VERSION_FIX.format(answer=said))
    return problem(texts.BACKEND_INFO_WHAT.format(url=url), texts.BACKEND_INFO_FIX.format(answer=said))
