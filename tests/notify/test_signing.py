"""Webhook signatures: what a receiver checks is an HMAC-SHA256 of the exact body."""

from __future__ import annotations

import hashlib
import hmac

from calmline.notify import sign, verify


def test_the_signature_is_the_hex_hmac_sha256_of_the_body() -> None:
    # RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?"
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert sign(b"what do ya want for nothing?", "Jefe") == f"sha256={expected}"


def test_verify_accepts_the_signature_and_refuses_any_change() -> None:
    body = '{"kind":"incident","customer":"Zoë"}'.encode()
    signature = sign(body, "s3cret")
    assert verify(body, "s3cret", signature)
    assert verify(body, "s3cret", f" {signature}\n")
    assert not verify(body + b" ", "s3cret", signature)
    assert not verify(body, "other secret", signature)
    assert not verify(body, "s3cret", signature.replace("sha256=", "sha1="))
    assert not verify(body, "s3cret", "")


def test_a_receiver_can_check_it_with_the_standard_library_alone() -> None:
    body = b'{"kind":"test"}'
    header = sign(body, "s3cret")
    mac = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(header, "sha256=" + mac)
