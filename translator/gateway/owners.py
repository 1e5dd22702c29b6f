"""Who owns what the gateway stores: a keyed hash of the credential a request came with, never the key.

Every stored object (a response, its items, a background run) has an *owner*, and only requests of
the same owner see it; for anyone else it does not exist (404).  The owner of a request is

* with inbound keys (``api_keys_env``): the key it presented;
* without them (pass-through: each client's own ``Authorization`` goes upstream): that header's value,
  and a request without one is refused (401), since nothing would tell its state from another's;
* with ``single_user = true``: :data:`SINGLE_USER`, one scope for every request (inbound keys, if any,
  are still checked; pass-through requests need no ``Authorization``).

It is kept as ``o_`` + HMAC-SHA256(secret, kind + credential) in hex, so neither the store nor its
backups hold a key, and a leaked store does not let anyone test guesses without the secret.  The
secret is ``owner_secret_env``'s value when configured (give every gateway sharing a store the same
one), else the store's own random secret (:meth:`~.store.base.ResponseStore.owner_secret`), shared by
every gateway using that store.

:meth:`translator.gateway.endpoints.Endpoints.authorize` computes the owner once per request (it checks
the key at the same time); the endpoints hand it to the Responses state with every call.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SINGLE_USER", "Owners"]

#: The one owner of every request under ``single_user = true``.
SINGLE_USER = "single-user"
#: The kinds of credential, kept apart in the hash (a key and an Authorization header never collide).
_KINDS = (b"key", b"authorization")


class Owners:
    """Makes owners from credentials with the gateway's secret (set once the store has started)."""

    def __init__(self, *, single_user: bool = False, secret: bytes | None = None) -> None:
        self.single_user = single_user
        self._secret = secret

    @property
    def has_secret(self) -> bool:
        return self._secret is not None

    def use_secret(self, secret: bytes) -> None:
        """The secret to use (the store's own, when the configuration gives none)."""
        if len(secret) < 16:
            raise ValueError("the owner secret must be at least 16 bytes")
        self._secret = secret

    def of(self, kind: bytes, credential: bytes) -> str:
        """The owner of requests made with ``credential`` (an inbound key, or an Authorization value)."""
        if self.single_user:
            return SINGLE_USER
        if kind not in _KINDS:
            raise ValueError(f"unknown credential kind {kind!r}")
        if self._secret is None:
            raise RuntimeError("owners made before the gateway started: no owner secret yet")
        digest = hmac.new(self._secret, kind + b"\x00" + credential, hashlib.sha256).hexdigest()
        return f"o_{digest}"
