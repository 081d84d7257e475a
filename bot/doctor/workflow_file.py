"""Reads a GitHub Actions workflow file for what verify-staging relies on: a `workflow_dispatch` trigger with the
inputs the bot dispatches, and a concurrency group (top level, or on the deploy job)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import yaml


class WorkflowUnreadable(ValueError):
    """Not YAML, or not a mapping at the top."""


@dataclass(frozen=True)
class WorkflowFacts:
    dispatchable: bool
    inputs: frozenset[str]
    concurrency: bool


def read_workflow(text: str, *, deploy_job: str) -> WorkflowFacts:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WorkflowUnreadable(str(exc).splitlines()[0]) from None
    if not isinstance(data, dict):
        raise WorkflowUnreadable("the top level is not a mapping")
    # YAML 1.1 reads the bare key `on` as the boolean true (PyYAML does), so look under both.
    trigger = data.get("on", data.get(True))
    dispatch: object = None
    dispatchable = False
    if isinstance(trigger, str):
        dispatchable = trigger == "workflow_dispatch"
    elif isinstance(trigger, list):
        dispatchable = "workflow_dispatch" in trigger
    elif isinstance(trigger, dict) and "workflow_dispatch" in trigger:
        dispatchable, dispatch = True, trigger["workflow_dispatch"]
    inputs = dispatch.get("inputs") if isinstance(dispatch, dict) else None
    jobs = data.get("jobs")
    job = jobs.get(deploy_job) if isinstance(jobs, dict) else None
    return WorkflowFacts(
        dispatchable=dispatchable,
        inputs=frozenset(str(k) for k in inputs) if isinstance(inputs, dict) else frozenset(),
        concurrency=_has_group(data.get("concurrency"))
        or (isinstance(job, dict) and _has_group(job.get("concurrency"))),
    )


def _has_group(concurrency: object) -> bool:
    """`concurrency: name` or `concurrency: {group: name, ...}` (GitHub docs: "Control the concurrency of workflows
    and jobs")."""
    if isinstance(concurrency, str):
        return bool(concurrency.strip())
    return isinstance(concurrency, dict) and bool(str(concurrency.get("group") or "").strip())


def undeclared(facts: WorkflowFacts, wanted: Iterable[str]) -> list[str]:
    return [name for name in wanted if name not in facts.inputs]
