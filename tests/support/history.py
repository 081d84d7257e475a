"""Finished verifications with chosen failover latencies, for tests of history, trends and regressions."""

from __future__ import annotations

from datetime import timedelta

from bot.history import history_rows
from bot.model import ScenarioConclusion, ScenarioId, Verification, VerificationConclusion
from bot.store import Store
from tests.fakes.clock import EPOCH
from tests.support.verifications import conclude, new_verification

FAILOVER = "failover_latency_s"


def failover_run(
    index: int,
    latency: float | None,
    *,
    passed: bool = True,
    repository: str | None = None,
    environment: str = "staging",
    ref: str = "main",
) -> Verification:
    """Verification `vs-h{index:03}` of the failover scenario, finished `index` minutes after EPOCH."""
    v = new_verification((ScenarioId.FAILOVER,))
    v.verification_id = f"vs-h{index:03}"
    v.environment, v.ref = environment, ref
    v.repository = repository or v.repository
    v.started_at = EPOCH + timedelta(minutes=index)
    conclusion = ScenarioConclusion.PASSED if passed else ScenarioConclusion.FAILED
    conclude(v.scenarios[0], conclusion, start=index * 60, measurements={FAILOVER: latency, "queue_s": 1.0})
    v.completed_at = v.started_at + timedelta(seconds=30)
    v.conclusion = VerificationConclusion.SUCCESS if passed else VerificationConclusion.FAILURE
    return v


async def record(store: Store, *verifications: Verification) -> None:
    """Keep these finished verifications in the store's history, as the history reporter does."""
    for v in verifications:
        rows = history_rows(v)
        assert rows is not None, f"{v.verification_id} has not finished"
        await store.record_history(*rows)
