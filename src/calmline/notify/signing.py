"""Webhook signatures: an HMAC-SHA256 of the exact request body, keyed with the shared secret."""

from __future__ import annotations

import hashlib
import hmac

#: The header a receiver reads the signature from, as ``sha256=<hex digest>``.
SIGNATURE_HEADER = "X-Calmline-Signature"
#: The header that names the notification; the same id on a repeated delivery.
DELIVERY_HEADER = "X-Calmline-Delivery"
_PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The ``X-Calmline-Signature`` value for ``body``: ``sha256=`` and the hex HMAC-SHA256."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def verify(body: bytes, secret: str, signature: str) -> bool:
    """Whether ``signature`` (a header value) was made from ``body`` with ``secret``.

    Compares in constant time, so a receiver using it leaks nothing about the expected value.
    """
    return hmac.compare_digest(sign(body, secret), signature.strip())
