"""Benchmark: one run on the demo tenant with a dead DNS server, against the DNS timeout.

    .venv/bin/python bench/critical_path.py [--latency-ms 40 --dns-timeout 2 --repeat 3]

The demo tenant's second custom DNS server (10.0.0.5) is a UDP socket that never answers, so
every query to it waits the whole ``dns.timeout_seconds``: the one wait a run cannot avoid.
Every ARM request waits ``--latency-ms``. Prints each run's wall time and critical path (time
per phase) and the median against issue 17's target: wall <= the DNS timeout + 30 %.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import time

from netverify.probes.phases import describe
from netverify.runner import run_once
from netverify.sim.scenario import builtin_scenario
from netverify.sim.tenant import SimulatedTenant

DEAD_SERVER = "10.0.0.5"
TARGET_OVER_TIMEOUT = 1.3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=40.0)
    parser.add_argument("--dns-timeout", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average at the start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with (
        SimulatedTenant(builtin_scenario()) as tenant,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as dead,
    ):
        dead.bind(("127.0.0.1", 0))  # takes queries, answers none
        os.environ.update(tenant.credential_environment)
        tenant.arm.latency_seconds = args.latency_ms / 1000
        document = tenant.config_document()
        server_map = document["dns"]["server_map"] | {
            DEAD_SERVER: f"127.0.0.1:{dead.getsockname()[1]}"
        }
        config = tenant.config(dns={"server_map": server_map, "timeout_seconds": args.dns_timeout})
        walls = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = run_once(config)
            walls.append(time.perf_counter() - started)
            if result.facts.all_probe_errors():  # a run that lost reads proves nothing
                raise SystemExit(f"the run had probe errors: {result.facts.all_probe_errors()}")
            print(f"run: {walls[-1]:.2f} s  {describe(result.facts.phases)}")
    median = statistics.median(walls)
    limit = args.dns_timeout * TARGET_OVER_TIMEOUT
    met = median <= limit
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(
        f"median {median:.2f} s = {median / args.dns_timeout:.2f}x the DNS timeout "
        f"({args.dns_timeout:g} s; target <= {limit:.2f} s): {'met' if met else 'NOT met'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
