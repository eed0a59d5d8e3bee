"""Crypto address validation: base58check (Bitcoin legacy P2PKH/P2SH, Litecoin, Dash, Tron…),
bech32 / bech32m (BIP-173 / BIP-350 segwit addresses) and EIP-55 (Ethereum mixed-case checksum).

Screening is by exact address; validation tells a typo (bad checksum) from an address that is
merely not listed, and gives the canonical form to look up (bech32 lower-cased, ETH lower-cased).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import base58

_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_CONST, _BECH32M_CONST = 1, 0x2BC830A3
_SEGWIT_HRPS = ("bc", "tb", "ltc", "tltc", "bcrt")


@dataclass(frozen=True, slots=True)
class AddressCheck:
    address: str  # canonical form used for lookup
    currency: str | None  # BTC, ETH, LTC, TRX… (None when the format says nothing)
    kind: str  # base58check | bech32 | bech32m | eip55 | hex | unknown
    valid: bool
    reason: str


# ---------------------------------------------------------------------------------- bech32 (BIP-173)
def _polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((b >> i) & 1) else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def bech32_decode(addr: str) -> tuple[str, list[int], str] | None:
    """(hrp, data without checksum, 'bech32' | 'bech32m') or None when the checksum fails."""
    if any(ord(x) < 33 or ord(x) > 126 for x in addr) or (addr.lower() != addr and addr.upper() != addr):
        return None
    addr = addr.lower()
    pos = addr.rfind("1")
    if pos < 1 or pos + 7 > len(addr) or len(addr) > 90:
        return None
    if not all(x in _BECH32_CHARSET for x in addr[pos + 1 :]):
        return None
    hrp = addr[:pos]
    data = [_BECH32_CHARSET.find(x) for x in addr[pos + 1 :]]
    const = _polymod(_hrp_expand(hrp) + data)
    if const == _BECH32_CONST:
        return hrp, data[:-6], "bech32"
    if const == _BECH32M_CONST:
        return hrp, data[:-6], "bech32m"
    return None


def _convertbits(data: list[int], frombits: int, tobits: int) -> list[int] | None:
    acc = bits = 0
    ret: list[int] = []
    maxv = (1 << tobits) - 1
    for value in data:
        if value < 0 or value >> frombits:
            return None
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            ret.append((acc >> bits) & maxv)
    if bits >= frombits or ((acc << (tobits - bits)) & maxv):
        return None
    return ret


def check_segwit(addr: str) -> AddressCheck:
    dec = bech32_decode(addr)
    if dec is None:
        return AddressCheck(addr.lower(), None, "bech32", False, "bech32 checksum or character set is wrong")
    hrp, data, spec = dec
    if not data:
        return AddressCheck(addr.lower(), None, spec, False, "empty witness program")
    prog = _convertbits(data[1:], 5, 8)
    ver = data[0]
    cur = "LTC" if hrp in ("ltc", "tltc") else "BTC"
    if prog is None or not 2 <= len(prog) <= 40 or ver > 16:
        return AddressCheck(addr.lower(), cur, spec, False, "invalid witness program")
    if ver == 0 and len(prog) not in (20, 32):
        return AddressCheck(addr.lower(), cur, spec, False, "v0 witness program must be 20 or 32 bytes")
    if (ver == 0) != (spec == "bech32"):
        return AddressCheck(
            addr.lower(), cur, spec, False, f"witness v{ver} must use {'bech32' if ver == 0 else 'bech32m'}"
        )
    return AddressCheck(addr.lower(), cur, spec, True, f"valid {spec} segwit v{ver} address")


# ------------------------------------------------------------------------------------ base58check
_B58_VERSIONS = {
    0x00: "BTC",
    0x05: "BTC",
    0x30: "LTC",
    0x32: "LTC",
    0x4C: "DASH",
    0x10: "DASH",
    0x41: "TRX",
    0x1E: "DOGE",
}


def check_base58(addr: str) -> AddressCheck:
    try:
        raw = base58.b58decode(addr)
    except ValueError:
        return AddressCheck(addr, None, "base58check", False, "not base58 (contains 0, O, I or l)")
    if len(raw) < 5:
        return AddressCheck(addr, None, "base58check", False, "too short")
    body, chk = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4] != chk:
        return AddressCheck(addr, None, "base58check", False, "base58check checksum mismatch")
    cur = _B58_VERSIONS.get(body[0]) if len(body) == 21 else None
    return AddressCheck(addr, cur, "base58check", True, f"valid base58check (version byte 0x{body[0]:02x})")


# ----------------------------------------------------------------------------------------- EIP-55
def _keccak256(data: bytes) -> bytes:
    # hashlib's sha3_256 is the NIST variant (different padding); Ethereum uses the original Keccak.
    from filiere.screening._keccak import keccak256

    return keccak256(data)


def eip55_checksum(addr: str) -> str:
    """The EIP-55 mixed-case form of a 0x address."""
    hex_addr = addr[2:].lower()
    digest = _keccak256(hex_addr.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(hex_addr))


def check_eth(addr: str) -> AddressCheck:
    body = addr[2:]
    if len(body) != 40 or any(c not in "0123456789abcdefABCDEF" for c in body):
        return AddressCheck(addr.lower(), "ETH", "hex", False, "an Ethereum address is 0x + 40 hex digits")
    if body.lower() == body or body.upper() == body:
        return AddressCheck(addr.lower(), "ETH", "hex", True, "valid hex address (no EIP-55 checksum to verify)")
    if eip55_checksum(addr) != addr:
        return AddressCheck(addr.lower(), "ETH", "eip55", False, "EIP-55 mixed-case checksum mismatch")
    return AddressCheck(addr.lower(), "ETH", "eip55", True, "valid EIP-55 checksummed address")


def check_address(addr: str) -> AddressCheck:
    """Identify the format of ``addr`` and validate its checksum."""
    a = addr.strip()
    low = a.lower()
    if low.startswith("0x"):
        return check_eth(a)
    if any(low.startswith(h + "1") for h in _SEGWIT_HRPS):
        return check_segwit(a)
    if 25 <= len(a) <= 36 and a.isalnum():
        return check_base58(a)
    return AddressCheck(a, None, "unknown", False, "unrecognised address format")


def canonical_address(addr: str) -> str:
    """Lookup key: bech32 and hex addresses are case-insensitive, base58 is not."""
    a = addr.strip()
    low = a.lower()
    if low.startswith("0x") or any(low.startswith(h + "1") for h in _SEGWIT_HRPS):
        return low
    return a
