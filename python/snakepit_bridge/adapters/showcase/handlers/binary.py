"""Binary payloads: bytes cross the wire as bytes, never as text."""

import hashlib
import zlib


def echo_bytes(data: bytes) -> bytes:
    if not isinstance(data, bytes):
        raise TypeError(f"echo_bytes expects bytes, got {type(data).__name__}")
    return data


def checksum(data: bytes) -> dict:
    """CRC-32 (as zlib computes it) and SHA-256 of the bytes, and their length."""
    if not isinstance(data, bytes):
        raise TypeError(f"checksum expects bytes, got {type(data).__name__}")
    return {
        "length": len(data),
        "crc32": zlib.crc32(data) & 0xFFFFFFFF,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
