"""``netverify``: run, demo, checks, config. Exit codes: 0 pass, 1 fail, 2 could not run, 3 error."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netverify.azure.clouds import CloudName, cloud
from netverify.model import EXIT_CANNOT_RUN, CannotRun
from netverify.secret import RedactedStderr, redact

# Each command imports what it uses inside its handler: `--help`, `checks list` and
# `config check` must not pay for the Azure SDKs, the sinks or the report (bench/startup.py).
if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from netverify.config import Config
    from netverify.report import ReportInput
    from netverify.runner import RunResult


# What a shell reports for a process that SIGPIPE ended (128 + 13): `netverify ... | head -1`.
EXIT_CLOSED_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`| head -1`): stop quietly. Python's own recipe: point stdout at
        # /dev/null, so the flush at exit does not raise the same error again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_CLOSED_PIPE


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    _redacted_stderr_logging()
    try:
        code: int = args.handler(args)
        return code
    except BrokenPipeError:
        raise
    except CannotRun as exc:
        print(redact(f"netverify: {exc}"), file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("NETVERIFY_DEBUG"):
            print(redact(traceback.format_exc()), file=sys.stderr, end="")
        print(
            redact(
                f"netverify: could not run: {type(exc).__name__}: {exc} "
                "(set NETVERIFY_DEBUG=1 for the traceback)"
            ),
            file=sys.stderr,
        )
        return EXIT_CANNOT_RUN


def _redacted_stderr_logging() -> None:
    """Warnings (a sink that cannot deliver, an SDK retry) go to stderr as Python's last-resort
    handler would print them, but redacted: a receiver may echo its secret in a 401 body.
    ``serve`` replaces this with its JSON lines (``agent.logs``), which redact too."""
    root = logging.getLogger()
    if not any(isinstance(h, RedactedStderr) for h in root.handlers):
        root.addHandler(RedactedStderr(logging.WARNING))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netverify",
        description="Verify network isolation of Azure Machine Learning online endpoints.",
    )
    parser.add_argument(
        "--version", action=_Version, nargs=0, help="print netverify's version and exit"
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
        p.add_argument(
            "--all",
            dest="show_all",
            action="store_true",
            help="the table also lists the checks that passed (json and jsonl always hold all)",
        )

    run = commands.add_parser("run", help="run every check once; the exit code says pass/fail")
    run.add_argument(
        "--config",
        "-c",
        help="config file (default: $NETVERIFY_CONFIG or /etc/netverify/config.toml)",
    )
    run.add_argument(
        "--fresh",
        action="store_true",
        help="read every resource from ARM, not in bulk from Resource Graph (which can lag ARM "
        "by minutes): for a check right after a fix",
    )
    output_option(run)
    run.set_defaults(handler=_run)

    serve = commands.add_parser(
        "serve", help="the agent: scheduled runs, change events, health and metrics (systemd)"
    )
    serve.add_argument(
        "--config",
        "-c",
        help="config file (default: $NETVERIFY_CONFIG or /etc/netverify/config.toml)",
    )
    serve.add_argument(
        "--state-dir",
        type=Path,
        help="state directory (default: state.directory, else $STATE_DIRECTORY, else /var/lib/netverify)",
    )
    serve.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")
    serve.set_defaults(handler=_serve)

    demo = commands.add_parser(
        "demo", help="run the real checks against a built-in simulated tenant"
    )
    demo.add_argument(
        "--scenario",
        help="a built-in scenario's name (demo, chain, spoke) or a scenario TOML file (default: demo)",
    )
    demo.add_argument(
        "--cloud",
        choices=[c.value for c in CloudName],
        help="run the simulated tenant in this cloud's naming (default: the scenario's)",
    )
    demo.add_argument(
        "--custom-dns",
        choices=("bind", "unbound", "dnsmasq", "standin"),
        help="what plays the VNet's custom DNS servers (default: the first of BIND, Unbound, "
        "dnsmasq installed, else a Python stand-in)",
    )
    output_option(demo)
    demo.add_argument("--html", type=Path, metavar="PATH", help="also write the HTML report here")
    demo.set_defaults(handler=_demo)

    explain = commands.add_parser(
        "explain", help="walk the troubleshooting chain for one endpoint, FQDN or workspace"
    )
    explain.add_argument("target", help="endpoint name, scoring FQDN, workspace name or ARM id")
    explain.add_argument("--config", "-c", help="config file (default: as for run)")
    explain.add_argument(
        "--demo", action="store_true", help="explain a target of the built-in simulated tenant"
    )
    explain.set_defaults(handler=_explain)

    doctor = commands.add_parser(
        "doctor", help="check this host can run netverify, and say what to fix"
    )
    doctor.add_argument(
        "--config",
        "-c",
        help="config file (default: $NETVERIFY_CONFIG or /etc/netverify/config.toml)",
    )
    doctor.add_argument(
        "--state-dir",
        type=Path,
        help="state directory to test, overriding the config's state.directory (default: "
        "state.directory, else $STATE_DIRECTORY, else /var/lib/netverify)",
    )
    doctor.set_defaults(handler=_doctor)
    report = commands.add_parser("report", help="write the HTML report from recorded findings")
    report.add_argument(
        "--from",
        dest="source",
        type=Path,
        required=True,
        metavar="FILE",
        help="the agent's state database (state.sqlite3), or JSON lines of finding events "
        "(e.g. a jsonl_file sink): the last run is reported, earlier runs give the timeline",
    )
    report.add_argument("--html", type=Path, required=True, metavar="PATH", help="write it here")
    report.set_defaults(handler=_report)

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
    init = config_commands.add_parser(
        "init", help="write a validated config from options (used by deploy/install.sh)"
    )
    init.add_argument("--cloud", choices=[c.value for c in CloudName], default="AzureCloud")
    init.add_argument(
        "--workspace", action="append", default=[], help="workspace ARM id (repeat for more)"
    )
    init.add_argument("--client-id", help="client id of the user-assigned managed identity")
    init.add_argument("--agent-name", help="agent name in findings (default: the host name)")
    init.add_argument("--vnet-id", help="ARM id of the VNet the agent runs in")
    init.add_argument("--jsonl", type=Path, help="also append findings as JSON lines here")
    init.add_argument("--output", "-o", type=Path, help="write here instead of stdout")
    init.set_defaults(handler=_config_init)

    sim = commands.add_parser(
        "sim", help="serve the simulated tenant for `netverify run` (testing)"
    )
    sim.add_argument(
        "--scenario", help="a built-in scenario's name or a scenario TOML file (default: demo)"
    )
    sim.add_argument("--write-config", type=Path, required=True, help="write a config for it here")
    sim.set_defaults(handler=_sim)
    return parser


class _Version(argparse.Action):
    """``--version``: the installed package's version (its metadata), read only when asked."""

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"netverify {version('netverify')}")
        except PackageNotFoundError:
            parser.exit(EXIT_CANNOT_RUN, "netverify: not installed, so no version is known\n")
        sys.stdout.flush()
        parser.exit(0)


class Progress:
    """Progress of a run on stderr, one line rewritten in place (``reading 12/40 workspaces…``),
    only when stderr is a terminal: a log, a pipe or the journal gets nothing."""

    def __init__(self) -> None:
        self.shown = sys.stderr.isatty()

    def __call__(self, text: str) -> None:
        if self.shown:
            sys.stderr.write(f"\r{text}\u2026\x1b[K")
            sys.stderr.flush()

    def clear(self) -> None:
        """Erase the line before the results are printed (stdout may be the same terminal)."""
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _run_with_progress(config: Config) -> RunResult:
    from netverify.runner import run_once  # the probes and every Azure SDK: only for a run

    progress = Progress()
    try:
        return run_once(config, progress=progress)
    finally:
        progress.clear()


def _deliver(config: Config, result: RunResult, fmt: str, show_all: bool = False) -> int:
    from netverify.agent.logs import journal_lines, journal_stream
    from netverify.output import render
    from netverify.sinks.events import to_event

    events = [to_event(f, result.context) for f in result.findings]
    if fmt == "jsonl" and journal_stream(sys.stdout):  # netverify-run.service: summaries only
        sys.stdout.write(journal_lines(events))
    else:
        sys.stdout.write(render(events, fmt, show_all=show_all))  # type: ignore[arg-type]
    # How the scope was discovered belongs to the run summary: under the table for people,
    # on stderr beside machine output (which stays one JSON document / one event per line).
    summary = sys.stdout if fmt == "table" else sys.stderr
    for note in result.facts.discovery.notes:
        print(f"note: {note}", file=summary)
    sys.stdout.flush()
    if config.sinks:
        _send_to_sinks(config, result, events)
    return result.exit_code


def _send_to_sinks(config: Config, result: RunResult, events: list[dict[str, Any]]) -> None:
    """Spool every event for every sink, then deliver for at most delivery.flush_timeout_seconds."""
    from netverify.agent.state import state_directory
    from netverify.probes.credentials import make_credential  # azure.identity: only with sinks
    from netverify.sinks.delivery import Delivery, SinkEnvironment

    names = cloud(config.cloud)
    delivery = Delivery(
        config,
        SinkEnvironment(
            hostname=result.context.agent.name,
            cloud=names,
            credential=lambda: make_credential(config.credential, names),
        ),
        state_directory(None, config.state.directory),
    )
    try:
        try:
            delivery.enqueue(events)
        finally:  # the spools that took the events deliver them, whatever the others said
            delivery.flush()
    finally:
        delivery.close()


def _run(args: argparse.Namespace) -> int:
    from netverify.config import config_path, load_config

    config = load_config(config_path(args.config))
    config = fresh(config) if args.fresh else config
    return _deliver(config, _run_with_progress(config), args.output, args.show_all)


def fresh(config: Config) -> Config:
    """``config`` reading every resource from ARM (``arm.resource_graph_reads = false``)."""
    arm = config.arm.model_copy(update={"resource_graph_reads": False})
    return config.model_copy(update={"arm": arm})


def _serve(args: argparse.Namespace) -> int:
    from netverify.agent.daemon import (
        serve,  # the scheduler and the metrics only load for the agent
    )
    from netverify.config import config_path

    return serve(config_path(args.config), args.state_dir, args.log_level)


def _report(args: argparse.Namespace) -> int:
    from netverify.agent.state import StateError, StateStore
    from netverify.report import (
        FindingsFileError,
        MalformedResolution,
        history_from_change_events,
        history_from_runs,
        read_findings_file,
    )

    try:
        if _is_sqlite(args.source):
            store = StateStore(args.source)
            history = history_from_change_events(store.latest_run_events(), store.changes())
            store.close()
        else:
            history = history_from_runs(read_findings_file(args.source))
        _write_report(args.html, history)
    except (FindingsFileError, MalformedResolution, StateError) as exc:
        print(f"netverify: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    return 0


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as source:
            return source.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False  # read_findings_file names the problem


def _write_report(path: Path, report: ReportInput) -> None:
    from datetime import UTC, datetime

    from netverify.report import write_report

    write_report(path, report, datetime.now(UTC))
    print(f"netverify: report written to {path}", file=sys.stderr)


def _demo(args: argparse.Namespace) -> int:
    from netverify.sim.cloud_naming import in_cloud  # demo-only code
    from netverify.sim.scenario import scenario_named
    from netverify.sim.tenant import SimulatedTenant

    scenario = scenario_named(args.scenario)
    if args.cloud:
        scenario = in_cloud(scenario, args.cloud)
    with SimulatedTenant(scenario, custom_dns=args.custom_dns) as tenant:
        print(f"netverify demo: {tenant.describe_dns()}", file=sys.stderr)
        os.environ.update(tenant.credential_environment)
        config = tenant.config()
        result = _run_with_progress(config)
        _deliver(config, result, args.output, args.show_all)
    if args.html:
        from netverify.report import history_from_runs
        from netverify.sinks.events import to_event

        events = [to_event(f, result.context) for f in result.findings]
        _write_report(args.html, history_from_runs(events))
    # The demo tenant is broken on purpose: the demo succeeded when it ran.
    return 0


def _explain(args: argparse.Namespace) -> int:
    from netverify.explain import TargetNotFound, explain, find_target, workspace_id_in
    from netverify.runner import run_once

    def walk(result: RunResult) -> int:
        try:
            target = find_target(result.facts, args.target)
        except TargetNotFound as error:
            print(f"netverify explain: {error}", file=sys.stderr)
            return 2
        lines, holds = explain(result.facts, result.findings, target)
        print("\n".join(lines))
        return 0 if holds else 1

    def narrowed_run(config: Config) -> RunResult:
        """One run, its scope cut to the target's workspace when it is found (the search and
        the run share one credential, so one token), every resource read from ARM: explain
        follows a fix, which Resource Graph may not show yet."""
        config = fresh(config)
        credential = make_credential(config.credential, cloud(config.cloud))
        workspace = workspace_id_in(args.target) or _locate(config, credential, args.target)
        if workspace is not None:  # else the whole scope's run says what was searched
            config = config.model_copy(update={"scope": ScopeConfig(workspaces=(workspace,))})
        return run_once(config, credential=credential)

    from netverify.config import ScopeConfig, config_path, load_config
    from netverify.probes.credentials import make_credential

    if args.demo:
        from netverify.sim.scenario import builtin_scenario
        from netverify.sim.tenant import SimulatedTenant

        with SimulatedTenant(builtin_scenario()) as tenant:
            os.environ.update(tenant.credential_environment)
            return walk(narrowed_run(tenant.config()))
    return walk(narrowed_run(load_config(config_path(args.config))))


def _locate(config: Config, credential: TokenCredential, target: str) -> str | None:
    """The workspace a name or FQDN target lives in (``probes.discovery.workspace_of_target``);
    None when nothing in scope matches."""
    from concurrent.futures import ThreadPoolExecutor

    from netverify.probes.arm import ArmReader
    from netverify.probes.discovery import workspace_of_target

    reader = ArmReader(credential, cloud(config.cloud), config.arm)
    with ThreadPoolExecutor(config.arm.max_concurrency, thread_name_prefix="arm") as pool:
        return workspace_of_target(reader, config.scope, pool, target)


def _doctor(args: argparse.Namespace) -> int:
    from netverify import doctor
    from netverify.agent.state import state_directory
    from netverify.config import config_path, load_config

    config = load_config(config_path(args.config))
    diagnoses = doctor.diagnose(config, state_directory(args.state_dir, config.state.directory))
    sys.stdout.write(doctor.render(diagnoses))
    return doctor.exit_code(diagnoses)


def _sim(args: argparse.Namespace) -> int:
    import signal
    import threading

    from netverify.sim.scenario import scenario_named
    from netverify.sim.tenant import SimulatedTenant

    scenario = scenario_named(args.scenario)
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
    from netverify.checklib.catalog import list_checks

    checks = list_checks()
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
    from netverify.config import config_path, load_config

    path = config_path(args.path)
    config = load_config(path)
    print(f"{path}: valid ({config.cloud.value}); nothing in Azure was read")
    print(f"  scope: {config.scope.describe()}")
    server_map = config.dns.describe_server_map()
    if server_map:
        print(f"  dns.server_map: {server_map}")
    return 0


def _config_init(args: argparse.Namespace) -> int:
    import tomli_w

    from netverify.config import parse_config, require_scope

    document: dict[str, Any] = {
        "cloud": args.cloud,
        "credential": {"kind": "managed_identity"},
        "scope": {"workspaces": args.workspace},
        "agent": {},
    }
    if args.client_id:
        document["credential"]["client_id"] = args.client_id
    if args.agent_name:
        document["agent"]["name"] = args.agent_name
    if args.vnet_id:
        document["agent"]["vnet_id"] = args.vnet_id
    if args.jsonl:
        document["sinks"] = [{"type": "jsonl_file", "path": str(args.jsonl)}]
    text = tomli_w.dumps(document)
    # Refuse to write what `run` would refuse (the CLI prefixes "netverify: ").
    if not args.workspace:
        raise CannotRun("config init: nothing to verify (expected at least one --workspace)")
    require_scope(parse_config(text, "config init"), "config init")
    if args.output:
        try:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(text, encoding="utf-8")
            args.output.chmod(0o644)  # DynamicUser= services read it as "other"
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise CannotRun(f"config init: --output {args.output}: {reason}") from exc
    else:
        sys.stdout.write(text)
    return 0


def _config_example(args: argparse.Namespace) -> int:
    from importlib import resources

    sys.stdout.write((resources.files("netverify") / "config_example.toml").read_text("utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
