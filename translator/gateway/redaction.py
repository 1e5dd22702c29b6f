"""Keys never leave: every byte an upstream sends is cleaned of the keys it was sent before anyone reads it.

An upstream may quote the key it received: in an error's message, ``param``, ``type`` or ``code``, in a
200 body carrying an ``error``, in an HTML page, in a mid-stream error frame, in a stored response's
text.  Rather than guess where, the gateway passes every byte read from an upstream through a
:class:`Redactor` of the secrets that request sent (the upstream's configured key, or in pass-through
mode the client's own credential) at the one place those bytes come in
(:mod:`translator.gateway.upstream_client`): what reaches the client, the log and the store has each
secret replaced by :data:`REDACTED`.

A secret split over two reads is caught too: the end of a read that could be the start of a secret is
held back until the next read shows whether it is (bytes that cannot begin a secret, such as an SSE
frame's closing blank line, are never held).  At the end of a body, or where the gateway cuts one (an
error body past its limit, a preview), a held-back start of a secret of :data:`MIN_PREFIX` characters
or more is replaced as well, so that a truncation never leaks a key's first characters.

Values shorter than :data:`MIN_SECRET` are not treated as secrets: they are placeholders (``unused``,
``x``) a local server ignores, and replacing them would rewrite ordinary text.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MIN_PREFIX", "MIN_SECRET", "REDACTED", "Redactor", "credential_of"]

#: What a secret is replaced with.
REDACTED = b"[redacted]"
#: The shortest value treated as a secret.
MIN_SECRET = 8
#: The shortest start of a secret replaced where a body ends or is cut.
MIN_PREFIX = 4


def credential_of(authorization: str | None) -> str | None:
    """The secret in an ``Authorization`` value: the credential after its scheme, else the whole value."""
    if not authorization:
        return None
    scheme, _, rest = authorization.strip().partition(" ")
    return rest.strip() or scheme


class Redactor:
    """Replaces ``secrets`` in a body read piece by piece: :meth:`feed` each piece, then :meth:`end`.

    Also used at once on a whole body (:meth:`clean`).  Cheap when no secret is there: one substring
    search per secret per piece, and a look at the piece's last bytes.
    """

    __slots__ = ("_held", "_longest", "_secrets")

    def __init__(self, secrets: Iterable[str | bytes | None]) -> None:
        found = {s.encode() if isinstance(s, str) else s for s in secrets if s}
        self._secrets = tuple(sorted((s for s in found if len(s) >= MIN_SECRET), key=len, reverse=True))
        self._longest = max((len(s) for s in self._secrets), default=0)
        self._held = b""

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def feed(self, data: bytes) -> bytes:
        """``data`` with every secret replaced, less a trailing start of a secret (held for the next)."""
        if not self._secrets:
            return data
        if self._held:
            data, self._held = self._held + data, b""
        for secret in self._secrets:
            if secret in data:
                data = data.replace(secret, REDACTED)
        cut = self._partial_start(data)
        if cut < len(data):
            data, self._held = data[:cut], data[cut:]
        return data

    def end(self) -> bytes:
        """What is held back, at the end of the body: a start of a secret long enough to say something
        is replaced."""
        held, self._held = self._held, b""
        return REDACTED if len(held) >= MIN_PREFIX else held

    def clean(self, data: bytes) -> bytes:
        """A whole body (or the part the gateway keeps of one), cleaned at once."""
        return self.feed(data) + self.end()

    def clean_text(self, text: str) -> str:
        """A text made from upstream bytes (a message), cleaned."""
        if not self._secrets:
            return text
        return self.clean(text.encode("utf-8", "surrogatepass")).decode("utf-8", "replace")

    def _partial_start(self, data: bytes) -> int:
        """Where a trailing start of a secret begins in ``data`` (``len(data)`` when none does)."""
        size = len(data)
        earliest = size
        for secret in self._secrets:
            first = secret[:1]
            at = data.find(first, max(0, size - len(secret) + 1))
            while 0 <= at < earliest:
                if secret.startswith(data[at:]):
                    earliest = at
                    break
                at = data.find(first, at + 1)
        return earliest
