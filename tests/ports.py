"""Free TCP ports for servers the tests start (one helper for every caller).

A port found by binding to 0 and releasing it is only "free a moment ago": the kernel may
hand the same number to the next caller before the first server has bound it. Two servers
of one test then collide (CI saw the operator's metrics and alert-receiver ports drawn
equal). So every port handed out is remembered for the life of the process and never
handed out twice.
"""

from __future__ import annotations

import socket
import threading

_handed_out: set[int] = set()
_lock = threading.Lock()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago and that this process has not
    handed out before.

    Raises:
        RuntimeError: no such port found in 1,000 tries (the ephemeral range is exhausted).
    """
    with _lock:
        for _ in range(1000):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port: int = s.getsockname()[1]
            if port not in _handed_out:
                _handed_out.add(port)
                return port
    raise RuntimeError("no free TCP port on 127.0.0.1 not already handed out")
