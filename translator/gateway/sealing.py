"""Sealed values: opaque strings that only this gateway (and every instance sharing its secret) can open.

AES-256-GCM with a key derived (HKDF-SHA256) from the gateway's secret and a purpose label, a random
96-bit nonce per value, and the owner as associated data, so that a value sealed for one owner does not
open for another.  A sealed value is ``tg1.`` followed by base64url(nonce, ciphertext and tag); anything
else, a value sealed under another secret or purpose, or a changed byte, fails to open with
:class:`SealError`.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["SealError", "Sealer"]

_PREFIX = "tg1."
_NONCE = 12


class SealError(ValueError):
    """A value that this gateway did not seal (for this owner and purpose), or that was changed."""


class Sealer:
    """Seals and opens values for one purpose (``"compaction"``) under the gateway's secret."""

    __slots__ = ("_aead", "_purpose")

    def __init__(self, secret: bytes, purpose: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=f"translator {purpose}".encode()
        ).derive(secret)
        self._aead = AESGCM(key)
        self._purpose = purpose.encode()

    def seal(self, data: bytes, owner: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, data, self._purpose + b"\0" + owner.encode())
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, value: str, owner: str) -> bytes:
        if not isinstance(value, str) or not value.startswith(_PREFIX):
            raise SealError("not a value sealed by this gateway")
        body = value[len(_PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise SealError("not a value sealed by this gateway (bad encoding)") from None
        if len(raw) <= _NONCE + 16:
            raise SealError("not a value sealed by this gateway (too short)")
        try:
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], self._purpose + b"\0" + owner.encode())
        except InvalidTag:
            raise SealError("sealed by another gateway, for another owner, or changed") from None
