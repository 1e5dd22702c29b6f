"""Sealed values (``translator.gateway.sealing``): only the same secret, purpose and owner open them."""

from __future__ import annotations

import pytest

from translator.gateway.sealing import Sealer, SealError


def test_sealed_values_open_only_for_their_secret_purpose_and_owner() -> None:
    sealer = Sealer(b"s" * 32, "compaction")
    sealed = sealer.seal(b"the summary", "owner-a")
    assert sealed.startswith("tg1.") and "summary" not in sealed
    assert sealer.seal(b"the summary", "owner-a") != sealed  # a fresh nonce every time
    assert Sealer(b"s" * 32, "compaction").open(sealed, "owner-a") == b"the summary"
    for other, owner in (
        (Sealer(b"t" * 32, "compaction"), "owner-a"),
        (Sealer(b"s" * 32, "other"), "owner-a"),
        (sealer, "owner-b"),
    ):
        with pytest.raises(SealError):
            other.open(sealed, owner)
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for bad in (tampered, "tg1.", "tg1.!!!", "opaque-from-openai", sealed[:20]):
        with pytest.raises(SealError):
            sealer.open(bad, "owner-a")
