"""Loopback ports for servers the tests start, without the race of "pick a free port, close it, start the server":
with several test workers, another process can take a port between the close and the server's bind.

`reserve_port()` binds a socket on 127.0.0.1 port 0 with SO_REUSEPORT and never listens on it. While it is open,
no other bind(0) or outgoing connection gets that port, and a plain bind of it fails; a server started with
SO_REUSEPORT (`verify-staging serve --reuse-port`) binds it beside the reservation, and connections reach only the
listening server (with the server down, they are refused, as on a real host).

`closed_port()` is for the opposite need: a port where nothing listens, for "the server is down" tests. It is a
reservation held until the test process ends, so nothing can start listening there meanwhile.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field


@dataclass
class PortReservation:
    """A loopback port held for one server until `release()`; `url` is http://127.0.0.1:PORT."""

    sock: socket.socket = field(repr=False)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def release(self) -> None:
        self.sock.close()

    def __enter__(self) -> PortReservation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def reserve_port() -> PortReservation:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", 0))
    return PortReservation(sock)


_closed: list[PortReservation] = []


def closed_port() -> int:
    """A loopback port nothing listens on, now or later in this test process: connections to it are refused."""
    reservation = reserve_port()
    _closed.append(reservation)
    return reservation.port
