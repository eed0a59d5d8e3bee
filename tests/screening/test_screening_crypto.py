from __future__ import annotations

import pytest

from filiere.screening._keccak import keccak256
from filiere.screening.crypto import check_address, eip55_checksum
from filiere.screening.service import Screener


def test_keccak_vector() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


@pytest.mark.parametrize(
    "addr",
    [  # EIP-55 specification vectors
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ],
)
def test_eip55(addr: str) -> None:
    assert eip55_checksum(addr.lower()) == addr
    assert check_address(addr).valid
    flipped = addr[:-1] + (addr[-1].lower() if addr[-1].isupper() else addr[-1].upper())
    if flipped != addr and flipped[-1].isalpha():
        assert not check_address(flipped).valid


@pytest.mark.parametrize(
    ("addr", "valid", "kind"),
    [
        ("12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h", True, "base58check"),
        ("12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9i", False, "base58check"),
        ("3K35dyL85fR9ht7UgzPfd1gLRRXQtNTqE3", True, "base58check"),
        ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", True, "bech32"),  # BIP-173 vector
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", False, "bech32"),
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", True, "bech32m"),  # BIP-350 vector
        # v1 program written with bech32 instead of bech32m (BIP-350 invalid vector)
        ("bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx", False, "bech32"),
        ("not-an-address", False, "unknown"),
    ],
)
def test_checksums(addr: str, valid: bool, kind: str) -> None:
    chk = check_address(addr)
    assert chk.valid is valid, chk
    assert chk.kind == kind


def test_screen_address(screener: Screener) -> None:
    hits = screener.screen_address("12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h")
    assert [m.entity_id for m in hits] == ["ofac:25308"]
    assert hits[0].score == 1.0 and "base58check" in hits[0].explanation
    assert screener.screen_address("1BoatSLRHtKNngkdXEeobR76b53LETtpyT") == []
