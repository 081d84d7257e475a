"""RSA keys for a GitHub App in tests: `rsa_key()` is one 2048-bit key per test process and name (a key takes tens of
milliseconds to make, and no test needs its own), `new_rsa_key()` a fresh one where that is the point.

key = rsa_key()                 # the App's key: the same object everywhere in this process
stranger = rsa_key("stranger")  # another App's key: differs from rsa_key(), also made once
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization

from lab.github.keys import rsa_key_pair


@dataclass(frozen=True)
class RsaKey:
    """A private key as GitHub hands it to an App owner (PKCS#8 PEM) and its public half (SubjectPublicKeyInfo)."""

    private_pem: str = field(repr=False)
    public_pem: str


def new_rsa_key() -> RsaKey:
    return RsaKey(*rsa_key_pair(serialization.PrivateFormat.PKCS8))


@functools.cache
def rsa_key(name: str = "app") -> RsaKey:
    """The key called `name`, made on first use and shared by every test of this process."""
    return new_rsa_key()
