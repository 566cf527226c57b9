#!/usr/bin/env python3
"""Resolve N FQDNs through 3 resolvers with netverify's DNS probe: concurrent vs sequential.

Two baselines, both with dnspython: the same code (``netverify.probes.dns.resolve_all``) with
``concurrency=1``, and a plain loop of blocking ``dns.query.udp`` calls. The three resolvers are loopback UDP servers in a separate process that
answer every A query after ``--delay-ms`` (what a resolver in a VNet costs per round trip).
Each run is measured in its own child process: wall time, queries/s, peak RSS.

    .venv/bin/python bench/dns_bench.py [--names 5000] [--concurrency 256] [--delay-ms 2]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import socket
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import cast

import dns.message
import dns.query
import dns.rdatatype

from netverify.facts import Resolver, ResolverKind
from netverify.probes.dns import RECEIVE_BUFFER, resolve_all

KINDS = (ResolverKind.HOST, ResolverKind.CUSTOM, ResolverKind.AZURE)
# name: pointer to offset 12 (the question), type A, class IN, TTL 60, 4 bytes: 10.0.1.5
ANSWER = bytes.fromhex("c00c000100010000003c00040a000105")


class DelayedResponder(asyncio.DatagramProtocol):
    """Answers every A query with 10.0.1.5 after a fixed delay, many queries at once.

    Queries carry no EDNS record (netverify's probe sends none), so the question is all
    that follows the header."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        # Built from the query's bytes: the responder must cost far less than the client it
        # measures. Header: QR+RD+RA, one answer; the answer points back at the question name.
        reply = data[:2] + b"\x81\x80" + data[4:6] + b"\x00\x01\x00\x00\x00\x00"
        reply += data[12:] + ANSWER
        assert self.transport is not None
        asyncio.get_running_loop().call_later(self.delay, self.transport.sendto, reply, addr)


async def _serve(delay: float, ports: Connection) -> None:
    loop = asyncio.get_running_loop()
    found = []
    for _ in KINDS:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: DelayedResponder(delay), local_addr=("127.0.0.1", 0)
        )
        transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER
        )
        found.append(transport.get_extra_info("sockname")[1])
    ports.send(found)
    await asyncio.Event().wait()  # until terminated


def serve(delay: float, ports: Connection) -> None:
    asyncio.run(_serve(delay, ports))


def measure(
    names: list[str], resolvers: list[Resolver], concurrency: int, report: Connection
) -> None:
    started = time.perf_counter()
    answers = asyncio.run(resolve_all(names, resolvers, timeout=2.0, concurrency=concurrency))
    wall = time.perf_counter() - started
    answered = sum(1 for a in answers if a.addresses == ("10.0.1.5",))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report.send((wall, len(answers), answered, peak_kib))


def measure_plain(names: list[str], resolvers: list[Resolver], _: int, report: Connection) -> None:
    """What a simple tool does with dnspython: one blocking query after another."""
    started = time.perf_counter()
    answered = asked = 0
    for name in names:
        for resolver in resolvers:
            host, port = resolver.targets[0].split(":")
            reply = dns.query.udp(dns.message.make_query(name, "A"), host, 2.0, int(port))
            asked += 1
            answered += any(rrset.rdtype == dns.rdatatype.A for rrset in reply.answer)
    wall = time.perf_counter() - started
    report.send((wall, asked, answered, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def run(
    names: list[str],
    resolvers: list[Resolver],
    concurrency: int,
    how: Callable[[list[str], list[Resolver], int, Connection], None] = measure,
) -> tuple[float, int, int, int]:
    receive, send = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.Process(target=how, args=(names, resolvers, concurrency, send))
    child.start()
    result: tuple[float, int, int, int] = receive.recv()
    child.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--delay-ms", type=float, default=2.0)
    args = parser.parse_args()

    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=serve, args=(args.delay_ms / 1000, send), daemon=True)
    server.start()
    ports = receive.recv()
    resolvers = [
        Resolver(kind.value, kind, f"127.0.0.1:{port}", (f"127.0.0.1:{port}",))
        for kind, port in zip(KINDS, ports, strict=True)
    ]
    names = [f"ep{i}.eastus.inference.ml.azure.com" for i in range(args.names)]
    try:
        rows = {
            "dns.query.udp loop": run(names, resolvers, 1, measure_plain),
            "sequential": run(names, resolvers, 1),
            f"concurrent ({args.concurrency})": run(names, resolvers, args.concurrency),
        }
    finally:
        server.terminate()
        server.join()

    print(
        f"{args.names} FQDNs x {len(resolvers)} resolvers, loopback, "
        f"{args.delay_ms:g} ms per answer, netverify.probes.dns.resolve_all"
    )
    print(
        f"{'run':<18} {'queries':>8} {'answered':>9} {'wall s':>8} {'queries/s':>10} {'peak RSS MiB':>13}"
    )
    for label, (wall, asked, answered, peak_kib) in rows.items():
        print(
            f"{label:<18} {asked:>8} {answered:>9} {wall:>8.2f} {asked / wall:>10.0f} "
            f"{peak_kib / 1024:>13.1f}"
        )
    plain, sequential, concurrent = rows.values()
    print(
        f"speed-up: {sequential[0] / concurrent[0]:.1f}x over the same code sequentially, "
        f"{plain[0] / concurrent[0]:.1f}x over a dns.query.udp loop (target >= 10x)"
    )


if __name__ == "__main__":
    main()
