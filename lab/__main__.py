"""`python -m lab`: runs the local staging lab until interrupted, and tells the bot how to reach it.

    python -m lab [--topology FILE] [--fault NAME ...] [--state-file FILE] [--webhook-url URL] [--workdir DIR]
                  [--parent-fd FD] [--record-answers]

Once everything is up it writes the state file (JSON: every URL, path, id and secret of the lab, the contract's
`lab` keys) and a settings file for `verify-staging serve` that points at this lab (`settings_path` in the state).
SIGINT or SIGTERM stops every process it started. So does end-of-file on `--parent-fd`, the read end of a pipe
whose write end only the starting process holds: when that process ends, however (SIGKILL, a CI timeout, a closed
terminal), the kernel closes the write end and the lab stops rather than run on with no one to use it.
`--record-answers` writes every answer of the simulated GitHub to `github/answers.jsonl` in the workdir
(`github_answers` in the state), for tests that check them against GitHub's documented response schemas. Exit status
2 with one line on stderr when it cannot start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from lab import monitoring
from lab.faults import UnknownFault, parse_faults
from lab.monitoring import MonitoringUnavailable
from lab.sim_setup import answers_log
from lab.topology import TopologyError, load_topology
from lab.world import World, WorldOptions, start_world


def bot_settings(world: World) -> dict[str, Any]:
    """Settings for `verify-staging serve` (the shape of deploy/settings.example.yml), thresholds in lab time."""
    topo = world.topology
    t = topo.thresholds
    runners = [
        {"name": r.name, "role": r.role, "labels": list(r.labels), "host": r.host, "service": r.unit}
        for r in topo.runners
    ]
    backend_unit = topo.backend.unit
    return {
        "database": str(world.options.workdir / "bot" / "verify-staging.db"),
        "github": {
            "api_version": "2022-11-28",
            "repositories": {topo.repository: {"environment": topo.environment}},
            "runner_poll_interval": 1,
            # Longer than the longest silent job of a healthy lab run (a failing health check gives up after
            # timing.health_check_timeout, 6 s), so only a lost webhook makes the bot ask the REST API.
            "reconcile_after": max(8, round(topo.timing.health_check_timeout + 2)),
            # Lab time: a webhook that failed while the bot was down comes back within half a minute.
            "redelivery_interval": 30,
        },
        "authorization": {
            "minimum_permission": topo.minimum_permission,
            "scenario_teams": {},
            "signoff_team": next(iter(topo.teams), None),
        },
        "jira": {
            "issue": topo.jira.issue,
            "statuses": {
                "in_progress": "In Progress",
                "awaiting_signoff": "In Review",
                "done": "Done",
                "rejected": "To Do",
                "needs_revision": "To Do",
            },
        },
        "ssh": {
            "user": topo.ssh_user,
            "connect_timeout": 5,
            "command_timeout": 15,
            "hosts": {h.name: {"address": "127.0.0.1", "port": h.port} for h in world.ssh_hosts},
        },
        "environments": {
            topo.environment: {
                "workflow": {
                    "file": topo.workflow_file,
                    "ref": None,
                    "inputs": {"environment": topo.environment, "test_mode": "true"},
                    "test_id_input": "test_id",
                    "jobs": {"deploy": "deploy", "health_check": "health-check", "rollback": "rollback"},
                },
                "runners": runners,
                "backend": {
                    "host": topo.backend.host,
                    "service": backend_unit,
                    "health_url": world.urls["backend"] + "/actuator/health",
                    "info_url": world.urls["backend"] + "/actuator/info",
                    "required_components": ["db", "redis"],
                },
                "frontend": {"url": world.urls["frontend"] + "/", "version_url": world.urls["frontend"] + "/version"},
                "incident_label": "incident",
                "monitoring": {
                    "prometheus_url": world.urls["prometheus"],
                    "alertmanager_url": world.urls["alertmanager"],
                    "grafana_url": world.urls["grafana"],
                    "grafana_dashboard_uid": topo.dashboard_uid,
                    "alert_rules": ["RunnerOffline", "DeploymentFailed", "DeploymentDurationHigh"],
                    "runner_offline_alert": "RunnerOffline",
                    "oncall_receiver": monitoring.route_receiver(world.options.alertmanager_path),
                    "scrape_interval": monitoring.SCRAPE_INTERVAL_S,
                },
                "thresholds": {
                    "deployment": t.deployment,
                    "failover": t.failover,
                    "health_check": t.health_check,
                    "rollback": t.rollback,
                    "runner_offline_detection": t.runner_offline_detection,
                    "alert_fire": t.alert_fire,
                    "notification": t.notification,
                    "run_timeout": t.run_timeout,
                    "queue": t.queue,
                },
            }
        },
    }


def state(world: World, settings_path: Path) -> dict[str, Any]:
    """The state file: every key of the contract's `lab` section, plus a few the lab's own tests use."""
    topo, s = world.topology, world.secrets
    return {
        "github_api_url": world.urls["github"],
        "webhook_secret": s.webhook_secret,
        "app_id": topo.app.id,
        "app_slug": topo.app.slug,
        "app_private_key_path": str(world.paths["app_private_key"]),
        "installation_id": topo.app.installation_id,
        "repository": topo.repository,
        "pull_request": {
            "number": topo.pull_request.number,
            "head_sha": world.head_sha,
            "head_ref": topo.pull_request.head_ref,
        },
        "authorized_user": topo.user("authorized"),
        "unauthorized_user": topo.user("unauthorized"),
        "sre_user": topo.user("sre"),
        "user_tokens": dict(s.user_tokens),
        "jira_url": world.urls["jira"],
        "jira_token": s.jira_token,
        "jira_user": topo.jira.user,
        "jira_issue": topo.jira.issue,
        "ssh_known_hosts": str(world.paths["known_hosts"]),
        "ssh_key_path": str(world.paths["ssh_key"]),
        "ssh_user": topo.ssh_user,
        "ssh_hosts": {h.name: h.address for h in world.ssh_hosts},
        "prometheus_url": world.urls["prometheus"],
        "alertmanager_url": world.urls["alertmanager"],
        "grafana_url": world.urls["grafana"],
        "grafana_token": s.grafana_token,
        "oncall_url": world.urls["oncall"],
        "exporter_url": world.urls["exporter"],
        "backend_url": world.urls["backend"],
        "frontend_url": world.urls["frontend"] + "/",
        "truth_log": str(world.truth.path),
        "settings_path": str(settings_path),
        "webhook_url": world.options.webhook_url,
        "faults": world.options.faults.names,
        # For `POST /_lab/faults`: a slow-failover delay that regresses failover without failing it.
        "regressed_failover_seconds": topo.timing.regressed_failover_seconds,
        "workdir": str(world.options.workdir),
        "pid": os.getpid(),
        "github_answers": str(answers_log(world) or ""),
    }


def write_private(path: Path, text: str) -> None:
    """Writes a file only its owner can read (it holds secrets), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.chmod(0o600)
    partial.replace(path)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lab", description="Run the local staging lab until interrupted.")
    parser.add_argument("--topology", type=Path, help="topology YAML (default: lab/topology.default.yml)")
    parser.add_argument("--fault", action="append", default=[], metavar="NAME", help="a lab fault (repeatable)")
    parser.add_argument("--state-file", type=Path, help="write the lab's state JSON here once it is up")
    parser.add_argument("--webhook-url", help="where the simulated GitHub delivers webhooks")
    parser.add_argument("--workdir", type=Path, help="keys, host state, logs and configs (default: a temp dir)")
    parser.add_argument(
        "--parent-fd", type=int, metavar="FD", help="stop at end-of-file on this inherited pipe (the parent ended)"
    )
    parser.add_argument(
        "--record-answers", action="store_true", help="write every GitHub REST answer to github/answers.jsonl"
    )
    return parser.parse_args(argv)


def stop_at_eof(loop: asyncio.AbstractEventLoop, fd: int, stop: Callable[[], None]) -> None:
    """Calls `stop` once `fd` reads end-of-file: every writer has closed it, i.e. the parent process has ended.

    A pipe rather than PR_SET_PDEATHSIG for the lab itself: the signal fires when the *thread* that forked the lab
    ends (a parent that starts the lab from a worker thread would lose it early) and misses a parent that died
    before the lab called prctl; EOF has neither gap. The lab's own children still use PR_SET_PDEATHSIG (lab/units.py):
    the lab forks them from its one event-loop thread, and they must die even if the lab is SIGKILLed.
    """
    os.set_blocking(fd, False)

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            os.close(fd)
            stop()

    loop.add_reader(fd, readable)


async def run(args: argparse.Namespace) -> int:
    try:
        options = WorldOptions(
            topology=load_topology(args.topology),
            workdir=(args.workdir or Path(tempfile.mkdtemp(prefix="verify-staging-lab-"))).resolve(),
            faults=parse_faults(args.fault),
            webhook_url=args.webhook_url,
            record_answers=args.record_answers,
        )
    except (TopologyError, UnknownFault) as error:
        print(f"lab: {error}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if args.parent_fd is not None:
        stop_at_eof(loop, args.parent_fd, stop.set)
    try:
        world = await start_world(options)
    except MonitoringUnavailable as error:
        print(f"lab: {error}", file=sys.stderr)
        return 2
    except (OSError, TimeoutError, RuntimeError) as error:
        print(f"lab: could not start: {error} (logs in {options.workdir / 'logs'})", file=sys.stderr)
        return 2
    try:
        settings_path = options.workdir / "verify-staging.settings.yml"
        write_private(settings_path, yaml.safe_dump(bot_settings(world), sort_keys=False))
        state_path = (args.state_file or options.workdir / "lab-state.json").resolve()
        write_private(state_path, json.dumps(state(world, settings_path), indent=2) + "\n")
        print(f"lab up: state in {state_path}", flush=True)
        await stop.wait()
    finally:
        await world.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_args(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    sys.exit(main())
