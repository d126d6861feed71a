"""Local ports for test servers."""

import socket

from .waiting import wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _connects(port: int) -> bool:
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    return True


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    wait_until(lambda: _connects(port), timeout=timeout, ignore=(OSError,), message=f"something listening on 127.0.0.1:{port}")
