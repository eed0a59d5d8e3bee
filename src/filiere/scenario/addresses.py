"""Bitcoin addresses for the crypto accounts of a world: bech32 (BIP 173) pay-to-witness-pubkey-hash
addresses with valid checksums, encoded column-wise with numpy (no per-address Python), and a
validator for base58check (``1…``/``3…``) and bech32 (``bc1…``) addresses.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _polymod_np(values: np.ndarray) -> np.ndarray:
    """BIP 173 checksum polymod of each row of ``values`` (N × L 5-bit groups)."""
    chk = np.ones(values.shape[0], dtype=np.uint32)
    for j in range(values.shape[1]):
        top = chk >> np.uint32(25)
        chk = ((chk & np.uint32(0x1FFFFFF)) << np.uint32(5)) ^ values[:, j].astype(np.uint32)
        for i, g in enumerate(_GEN):
            chk ^= np.where((top >> np.uint32(i)) & np.uint32(1), np.uint32(g), np.uint32(0))
    return chk


def bech32_p2wpkh(programs: np.ndarray, hrp: str = "bc") -> pa.StringArray:
    """Addresses (``bc1q…``, 42 characters) for 20-byte witness programs (an N × 20 uint8 array)."""
    n = programs.shape[0]
    bits = np.unpackbits(programs.astype(np.uint8), axis=1).reshape(n, 32, 5)
    groups = (bits * np.array([16, 8, 4, 2, 1], dtype=np.uint8)).sum(axis=2).astype(np.uint8)
    data = np.concatenate([np.zeros((n, 1), dtype=np.uint8), groups], axis=1)  # witness version 0
    exp = np.tile(np.array(_hrp_expand(hrp), dtype=np.uint8), (n, 1))
    pm = _polymod_np(np.concatenate([exp, data, np.zeros((n, 6), dtype=np.uint8)], axis=1)) ^ np.uint32(1)
    check = np.stack([(pm >> np.uint32(5 * (5 - i))) & np.uint32(31) for i in range(6)], axis=1).astype(np.uint8)
    full = np.concatenate([data, check], axis=1)  # N × 39
    lut = np.frombuffer(CHARSET.encode(), dtype=np.uint8)
    chars = np.concatenate([np.tile(np.frombuffer(f"{hrp}1".encode(), dtype=np.uint8), (n, 1)), lut[full]], axis=1)
    width = chars.shape[1]
    buf = pa.py_buffer(np.ascontiguousarray(chars).tobytes())
    offsets = pa.py_buffer((np.arange(n + 1, dtype=np.int32) * width).tobytes())
    out = pa.Array.from_buffers(pa.string(), n, [None, offsets, buf])
    assert isinstance(out, pa.StringArray)
    return out


def random_addresses(n: int, seed_seq: np.random.SeedSequence) -> pa.StringArray:
    """``n`` distinct-looking bech32 addresses from random 20-byte programs (deterministic per seed)."""
    rng = np.random.default_rng(seed_seq)
    return bech32_p2wpkh(rng.integers(0, 256, (n, 20), dtype=np.uint8))


def _bech32_ok(addr: str) -> bool:
    a = addr.lower()
    if a != addr and addr.upper() != addr:
        return False
    pos = a.rfind("1")
    if pos < 1 or len(a) - pos < 7 or any(c not in CHARSET for c in a[pos + 1 :]):
        return False
    data = [CHARSET.index(c) for c in a[pos + 1 :]]
    values = np.array([_hrp_expand(a[:pos]) + data], dtype=np.uint8)
    return int(_polymod_np(values)[0]) == 1


def _base58check_ok(addr: str) -> bool:
    num = 0
    for c in addr:
        if c not in _B58:
            return False
        num = num * 58 + _B58.index(c)
    raw = num.to_bytes(25, "big") if num < 1 << 200 else b""
    if len(raw) != 25:
        return False
    return hashlib.sha256(hashlib.sha256(raw[:21]).digest()).digest()[:4] == raw[21:] and raw[0] in (0, 5)


def is_valid_address(addr: str) -> bool:
    """Whether ``addr`` is a mainnet Bitcoin address with a valid checksum (base58check or bech32)."""
    if addr.lower().startswith("bc1"):
        return _bech32_ok(addr)
    return _base58check_ok(addr)


def valid_mask(addresses: pa.Array) -> np.ndarray:
    return np.array([is_valid_address(str(a)) for a in pc.cast(addresses, pa.string()).to_pylist()], dtype=bool)
