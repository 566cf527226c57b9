"""``netverify``: run, demo, checks, config. Exit codes: 0 pass, 1 fail, 2 could not run, 3 error."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from netverify.catalog import CatalogError, load_checks
from netverify.config import Config, ConfigError, config_path, load_config
from netverify.events import to_event
from netverify.output import render
from netverify.runner import RunResult, run_once
from netverify.sinks import make_sink

EXIT_CANNOT_RUN = 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.handler(args)
        return code
    except (ConfigError, CatalogError) as exc:
        print(f"netverify: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("NETVERIFY_DEBUG"):
            traceback.print_exc()
        print(
            f"netverify: could not run: {type(exc).__name__}: {exc} "
            "(set NETVERIFY_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_CANNOT_RUN


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netverify",
        description="Verify network isolation of Azure Machine Learning online endpoints.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def output_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--output",
            "-o",
            choices=("table", "json", "jsonl"),
            default="table",
            help="table for people (default), json or jsonl for machines",
        )

    run = commands.add_parser("run", help="run every check once; the exit code says pass/fail")
    run.add_argument(
        "--config",
        "-c",
        help="config file (default: $NETVERIFY_CONFIG or /etc/netverify/config.toml)",
    )
    output_option(run)
    run.set_defaults(handler=_run)

    demo = commands.add_parser(
        "demo", help="run the real checks against a built-in simulated tenant"
    )
    demo.add_argument(
        "--scenario", type=Path, help="a scenario TOML file instead of the built-in demo"
    )
    demo.add_argument(
        "--custom-dns",
        choices=("bind", "unbound", "dnsmasq", "standin"),
        help="what plays the VNet's custom DNS servers (default: the first of BIND, Unbound, "
        "dnsmasq installed, else a Python stand-in)",
    )
    output_option(demo)
    demo.set_defaults(handler=_demo)

    checks = commands.add_parser("checks", help="the checks netverify runs")
    checks_commands = checks.add_subparsers(required=True, metavar="SUBCOMMAND")
    listing = checks_commands.add_parser("list", help="list every check")
    listing.add_argument("--output", "-o", choices=("table", "json", "markdown"), default="table")
    listing.set_defaults(handler=_checks_list)

    config = commands.add_parser("config", help="validate or show a configuration")
    config_commands = config.add_subparsers(required=True, metavar="SUBCOMMAND")
    check = config_commands.add_parser("check", help="validate a config file")
    check.add_argument(
        "path", nargs="?", help="default: $NETVERIFY_CONFIG or /etc/netverify/config.toml"
    )
    check.set_defaults(handler=_config_check)
    example = config_commands.add_parser("example", help="print a commented example config")
    example.set_defaults(handler=_config_example)

    sim = commands.add_parser(
        "sim", help="serve the simulated tenant for `netverify run` (testing)"
    )
    sim.add_argument("--scenario", type=Path, help="scenario TOML (default: the built-in demo)")
    sim.add_argument("--write-config", type=Path, required=True, help="write a config for it here")
    sim.set_defaults(handler=_sim)
    return parser


def _deliver(config: Config, result: RunResult, fmt: str) -> int:
    events = [to_event(f, result.context) for f in result.findings]
    sys.stdout.write(render(events, fmt))  # type: ignore[arg-type]
    sys.stdout.flush()
    for sink in config.sinks:
        make_sink(sink).emit(events)
    return result.exit_code


def _run(args: argparse.Namespace) -> int:
    config = load_config(config_path(args.config))
    return _deliver(config, run_once(config), args.output)


def _demo(args: argparse.Namespace) -> int:
    from netverify.sim.scenario import builtin_scenario, load_scenario  # demo-only code
    from netverify.sim.tenant import SimulatedTenant

    scenario = load_scenario(args.scenario) if args.scenario else builtin_scenario()
    with SimulatedTenant(scenario, custom_dns=args.custom_dns) as tenant:
        print(f"netverify demo: {tenant.describe_dns()}", file=sys.stderr)
        os.environ.update(tenant.credential_environment)
        config = tenant.config()
        result = run_once(config)
        _deliver(config, result, args.output)
    # The demo tenant is broken on purpose: the demo succeeded when it ran.
    return 0


def _sim(args: argparse.Namespace) -> int:
    import signal
    import threading

    from netverify.sim.scenario import builtin_scenario, load_scenario
    from netverify.sim.tenant import SimulatedTenant

    scenario = load_scenario(args.scenario) if args.scenario else builtin_scenario()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with SimulatedTenant(scenario) as tenant:
        tenant.write_config(args.write_config)
        for key, value in tenant.credential_environment.items():
            print(f"export {key}={value}")
        print(f"# ARM at {tenant.arm.url}; config written to {args.write_config}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


def _checks_list(args: argparse.Namespace) -> int:
    checks = [c.meta for c in load_checks()]
    if args.output == "json":
        import json

        rows = [
            {
                "id": m.id,
                "title": m.title,
                "severity": m.severity.value,
                "rationale": m.rationale,
                "remediation": {"text": m.remediation_text, "command": m.remediation_command},
                "references": list(m.references),
            }
            for m in checks
        ]
        print(json.dumps(rows, indent=2))
    elif args.output == "markdown":
        print("| Check id | Severity | What it verifies | Remediation command |")
        print("|---|---|---|---|")
        for m in checks:
            print(f"| `{m.id}` | {m.severity.value} | {m.title} | `{m.remediation_command}` |")
    else:
        width = max(len(m.id) for m in checks)
        for m in checks:
            print(f"{m.id.ljust(width)}  {m.severity.value:<8}  {m.title}")
    return 0


def _config_check(args: argparse.Namespace) -> int:
    path = config_path(args.path)
    config = load_config(path)
    print(f"{path}: valid ({config.cloud.value}, {len(config.scope.workspaces)} workspaces)")
    return 0


def _config_example(args: argparse.Namespace) -> int:
    sys.stdout.write((resources.files("netverify") / "config_example.toml").read_text("utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
