"""100,000 findings through the durable spool into a real rsyslogd over TCP (octet counting).

Prints, from one run: spool write rate, delivery rate (spool -> TCP -> rsyslog), the same
transport without the spool for comparison, the zero-loss check (every event id counted in
rsyslog's output) and the peak RSS of the delivering process. Delivery runs in a fresh process
that only opens the spool, as ``netverify serve`` or the next ``netverify run`` would, so its
peak RSS is the courier's and not the benchmark's 100,000 findings held in memory.
Run: .venv/bin/python bench/spool_to_rsyslog.py
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.servers.rsyslog

from netverify.config import SyslogSink
from netverify.sinks.events import event_id
from netverify.sinks.spool import Courier, Spool
from netverify.sinks.syslog import Syslog
from netverify.testing import finding_events
from tests.servers.rsyslog import start_rsyslog


def received_ids(output: Path) -> list[str]:
    ids = []
    with output.open(encoding="utf-8") as lines:
        for line in lines:
            message = line.split(" ", 7)[7]
            ids.append(
                json.loads(message)["event_id"]
                if message.startswith("{")
                else message.split("externalId=")[1].split(" ")[0]
            )
    return ids


def wait_for_lines(output: Path, count: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        with output.open("rb") as data:
            seen = sum(chunk.count(b"\n") for chunk in iter(lambda: data.read(1 << 20), b""))
        if seen >= count:
            break
        time.sleep(0.2)
    return seen


def high_water_mark_kib() -> int:
    """This process's peak RSS. Not ru_maxrss: Linux carries that across fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def deliver(spool_path: str, sink: dict[str, object], batch_size: int, out: object) -> None:
    """In its own process: open the spool, deliver everything, report time and peak RSS."""
    spool = Spool(Path(spool_path), name="bench", max_events=10**9)
    courier = Courier(
        spool, Syslog(SyslogSink.model_validate(sink), "bench-agent"), batch_size=batch_size
    )
    started = time.perf_counter()
    emptied = courier.flush(600)
    elapsed = time.perf_counter() - started
    out.put((emptied, elapsed, high_water_mark_kib(), spool.stats()))  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--format", choices=("json", "cef"), default="json")
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="netverify-bench-") as tmp:
        workdir = Path(tmp)
        rsyslog = start_rsyslog(workdir / "rsyslog")
        try:
            started = time.perf_counter()
            events = [
                {**e, "event_id": event_id(e)} for e in finding_events((args.events + 1) // 2)
            ][: args.events]
            made = time.perf_counter() - started
            sink: dict[str, object] = {
                "type": "syslog",
                "host": rsyslog.host,
                "port": rsyslog.tcp_port,
                "protocol": "tcp",
                "format": args.format,
            }
            transport = Syslog(SyslogSink.model_validate(sink), "bench-agent")

            spool_path = workdir / "state" / "bench.sqlite"
            spool = Spool(spool_path, name="bench", max_events=len(events))
            started = time.perf_counter()
            spool.put(events)
            spooled = time.perf_counter() - started
            spool.close()

            context = multiprocessing.get_context("spawn")
            results = context.Queue()
            courier = context.Process(
                target=deliver, args=(str(spool_path), sink, args.batch_size, results)
            )
            courier.start()
            emptied, delivered, courier_peak_kib, stats = results.get(timeout=900)
            courier.join()
            arrived = wait_for_lines(rsyslog.output, len(events), 120)
            lines_after_spool = arrived

            # The same transport without the spool: what the spool costs.
            started = time.perf_counter()
            for at in range(0, len(events), args.batch_size):
                transport.send(events[at : at + args.batch_size])
            direct = time.perf_counter() - started
            wait_for_lines(rsyslog.output, 2 * len(events), 120)

            ids = received_ids(rsyslog.output)
            through_spool = ids[:lines_after_spool]
            expected = {e["event_id"] for e in events}
            missing = len(expected - set(through_spool))
        finally:
            rsyslog.stop()

    bench_peak_mib = high_water_mark_kib() / 1024
    total = spooled + delivered
    print(
        f"events                        {len(events)} ({args.format}, batches of {args.batch_size})"
    )
    print(f"findings made in              {made:.2f} s")
    print(f"spool write                   {len(events) / spooled:,.0f} events/s ({spooled:.2f} s)")
    print(
        f"spool -> rsyslog (TCP)        {len(events) / delivered:,.0f} events/s ({delivered:.2f} s)"
    )
    print(f"end to end (write + deliver)  {len(events) / total:,.0f} events/s ({total:.2f} s)")
    print(f"same transport, no spool      {len(events) / direct:,.0f} events/s ({direct:.2f} s)")
    print(f"spooled / direct time ratio   {total / direct:.2f}")
    print(f"received by rsyslog           {len(through_spool)} lines, {missing} event ids missing")
    print(f"zero loss                     {'yes' if emptied and missing == 0 else 'NO'}")
    print(f"spool counters                {stats}")
    print(f"peak RSS, delivering process  {courier_peak_kib / 1024:.0f} MiB")
    print(f"peak RSS, benchmark process   {bench_peak_mib:.0f} MiB (holds all findings)")
    return 0 if emptied and missing == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
