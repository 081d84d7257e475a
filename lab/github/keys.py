"""RSA key pairs for GitHub Apps, as GitHub hands them out: the private key as PEM (by default PKCS#1, `BEGIN RSA
PRIVATE KEY`, like the `.pem` GitHub's App settings download) and the public half that verifies the App's JWTs."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def rsa_key_pair(
    private_format: serialization.PrivateFormat = serialization.PrivateFormat.TraditionalOpenSSL,
) -> tuple[str, str]:
    """A new 2048-bit key: (private PEM, public PEM as SubjectPublicKeyInfo)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, private_format, serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public.decode()
