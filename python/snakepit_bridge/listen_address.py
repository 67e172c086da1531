"""``--listen`` addresses: ``unix:PATH`` or ``HOST:PORT``, bound on a gRPC server."""

import os
from typing import Optional

# sockaddr_un.sun_path is 108 bytes including the terminating NUL.
MAX_UNIX_PATH_BYTES = 107


class BindError(Exception):
    pass


def unix_socket_path(address: str) -> Optional[str]:
    """The filesystem path of a ``unix:`` address, else None."""
    if not address.startswith("unix:"):
        return None
    path = address[len("unix:"):]
    return path[2:] if path.startswith("//") else path


def bind(server, address: str) -> str:
    """Bind ``server`` to ``address``; return the address as clients reach it
    (a TCP port 0 is replaced by the port the kernel chose)."""
    path = unix_socket_path(address)
    if path is not None and len(os.fsencode(path)) > MAX_UNIX_PATH_BYTES:
        raise BindError(
            f"cannot listen on {address}: the socket path is "
            f"{len(os.fsencode(path))} bytes, the limit is {MAX_UNIX_PATH_BYTES}"
        )
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as exc:  # grpcio >= 1.4x raises instead of returning 0
        raise BindError(f"cannot listen on {address}: {exc}") from exc
    if port == 0:
        raise BindError(f"cannot listen on {address}")
    if path is None:
        host, _, requested_port = address.rpartition(":")
        if requested_port == "0":
            return f"{host}:{port}"
    return address
