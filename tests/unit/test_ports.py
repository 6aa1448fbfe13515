"""The tests' free-port helper never hands one port out twice in a process.

CI once drew the operator's metrics port and its alert-receiver port equal (both "free a
moment ago"), and the operator failed to bind the second.
"""

from __future__ import annotations

import socket

from ports import free_port


def test_ports_handed_out_are_distinct_and_bindable() -> None:
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports[-1]))
