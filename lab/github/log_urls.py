"""The signed, expiring URLs under which the simulated GitHub serves jobs' logs (see lab/github/rest_logs.py)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

#: Seconds a signed log URL stays valid (GitHub's are about a minute).
URL_TTL = 60


@dataclass
class LogSigner:
    """Signs and checks the expiring log URLs."""

    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    ttl: int = URL_TTL

    def _sig(self, job_id: int, expires: int) -> str:
        return hmac.new(self.key, f"{job_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def query(self, job_id: int, *, now: float | None = None) -> str:
        expires = int(time.time() if now is None else now) + self.ttl
        return f"expires={expires}&sig={self._sig(job_id, expires)}"

    def valid(self, job_id: int, expires: str, sig: str, *, now: float | None = None) -> bool:
        if not expires.isdigit() or int(expires) < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(self._sig(job_id, int(expires)), sig)
