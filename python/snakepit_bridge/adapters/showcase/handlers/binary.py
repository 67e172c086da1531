"""Binary payloads: bytes cross the wire as bytes, never as text."""


def echo_bytes(data: bytes) -> bytes:
    if not isinstance(data, bytes):
        raise TypeError(f"echo_bytes expects bytes, got {type(data).__name__}")
    return data
