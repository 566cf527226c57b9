"""The demo's report in real headless Chromium: matrix cells, copy button, no JavaScript, print.

The report is made the way a user makes it: `netverify demo -o jsonl` gives the findings, they
are written as a JSON-lines file after an earlier run (so the timeline has a problem that was
resolved), and `netverify report --from` renders it. The matrices come from the demo's own DNS
findings (real BIND as its custom DNS server when installed).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from netverify.diagnose import event_problems
from tests.browser import Browser, Page

BROKEN_GUID = "9b8c7d6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
NOTEBOOKS_BROKEN = f"ml-mlw-broken-westus-{BROKEN_GUID}.westus.notebooks.azure.net"
SPOKE_API = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9.workspace.eastus.api.azureml.ms"

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
EARLIER = timedelta(hours=3)


def netverify(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "netverify.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert 0 == done.returncode, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """The demo's HTML report, and the events of its last run."""
    workdir = tmp_path_factory.mktemp("report")
    latest = [json.loads(line) for line in netverify("demo", "-o", "jsonl").splitlines()]
    observed_at = datetime.fromisoformat(latest[0]["observed_at"].replace("Z", "+00:00"))
    # Three hours earlier the healthy workspace had v1_legacy_mode on too; it was fixed since.
    earlier = [
        {
            **event,
            "run_id": "00000000-0000-4000-8000-0000000000e1",
            "observed_at": (observed_at - EARLIER).isoformat().replace("+00:00", "Z"),
            "status": "fail" if event["resource_name"] == "mlw-healthy" else event["status"],
        }
        for event in latest
        if "." not in event["resource_name"]
    ]
    findings = workdir / "findings.jsonl"
    findings.write_text("".join(json.dumps(e) + "\n" for e in [*earlier, *latest]))
    report = workdir / "report.html"
    netverify("report", "--from", str(findings), "--html", str(report))
    return report, latest


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    with Browser(tmp_path_factory.mktemp("chromium") / "profile") as running:
        yield running


@pytest.fixture(scope="module")
def page(browser: Browser, demo_report: tuple[Path, list[dict[str, Any]]]) -> Page:
    return browser.open(demo_report[0].as_uri())


def test_the_report_loads_nothing_and_logs_no_error(
    page: Page, demo_report: tuple[Path, list[dict[str, Any]]]
) -> None:
    """The only request is the file itself; no CSP violation or script error is logged."""
    requested = [e["request"]["url"] for e in page.events("Network.requestWillBeSent")]
    assert [demo_report[0].as_uri()] == requested
    errors = [
        e["entry"]["text"] for e in page.events("Log.entryAdded") if e["entry"]["level"] == "error"
    ]
    assert [] == errors + [str(e) for e in page.events("Runtime.exceptionThrown")]


def test_matrix_cells_show_each_answer_in_words(page: Page) -> None:
    """The demo's matrices: private, public, NXDOMAIN, no-address and error cells, each in words."""
    matrices = page.evaluate(
        """[...document.querySelectorAll('table.matrix')].map(t => ({
            caption: t.caption.innerText,
            resolvers: [...t.tHead.querySelectorAll('th')].slice(1).map(th => th.innerText.split('\\n')[0]),
            rows: Object.fromEntries([...t.tBodies[0].rows].map(r => [r.cells[0].innerText,
                [...r.cells].slice(1).map(c => [c.dataset.outcome, c.querySelector('.outcome-label')?.innerText,
                                                getComputedStyle(c).backgroundColor])]))}))"""
    )
    by_caption = {m["caption"]: m for m in matrices}
    assert [
        "Workspace mlw-broken",
        "Workspace mlw-healthy",
        "Workspace mlw-spoke",
    ] == list(by_caption)
    broken = by_caption["Workspace mlw-broken"]
    resolvers = [
        "host",
        "custom 10.0.0.4",
        "custom 10.0.0.5",
        "custom 10.0.0.6",
        "azure 168.63.129.16",
    ]
    assert resolvers == broken["resolvers"]

    def outcomes(matrix: dict[str, Any], fqdn: str) -> list[tuple[str, str]]:
        return [(o, label) for o, label, _ in matrix["rows"][fqdn]]

    # The notebooks name: public through the host and the custom server (no forwarder for the
    # notebooks zone), the second custom server is down, the firewall's proxy (an Unbound)
    # chases Azure DNS's CNAME to NXDOMAIN, and Azure DNS has no record for it.
    assert [
        ("public", "PUBLIC"),
        ("public", "PUBLIC"),
        ("error", "ERROR"),
        ("nxdomain", "NXDOMAIN"),
        ("nodata", "NO ADDRESS"),
    ] == outcomes(broken, NOTEBOOKS_BROKEN)
    # The spoke's API: a stale host cache, NXDOMAIN from the custom server, no zone linked.
    spoke = by_caption["Workspace mlw-spoke"]
    assert [
        ("stale", "STALE"),
        ("nxdomain", "NXDOMAIN"),
        ("error", "ERROR"),
        ("nxdomain", "NXDOMAIN"),
        ("nodata", "NO ADDRESS"),
    ] == outcomes(spoke, SPOKE_API)
    colours = {
        o: colour for m in matrices for cells in m["rows"].values() for o, _, colour in cells
    }
    # Each outcome has its own colour, except that right and unjudged private share the green.
    assert len(set(colours) - {"private"}) == len(set(colours.values())), colours


def test_first_screen_shows_the_problems_the_chain_and_a_stale_ip_is_not_healthy(
    browser: Browser, demo_report: tuple[Path, list[dict[str, Any]]]
) -> None:
    """At 1400x900 every root cause is on the first screen (the index, one line each) and the
    page does not scroll sideways; each workspace's chain SVG renders with a red dashed edge;
    the spoke's stale host answer is not badged like a right one."""
    with Browser(demo_report[0].parent / "laptop", width=1400, height=900) as laptop:
        screen = laptop.open(demo_report[0].as_uri())
        # The window's own frame takes some of its 900 px: the viewport is set to the screen.
        screen.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )
        shown = screen.evaluate(
            f"const SPOKE_API = {json.dumps(SPOKE_API)};"
            """(() => { const box = e => e.getBoundingClientRect();
              const problems = box(document.getElementById('problems'));
              const lines = [...document.querySelectorAll('#problems ol.problem-index li')];
              const svgs = [...document.querySelectorAll('svg.chain')].map(s => [box(s).width,
                  box(s).height, s.querySelectorAll('line.edge-broken').length,
                  s.querySelector('line.edge-broken')?.getAttribute('stroke-dasharray')]);
              const row = [...document.querySelectorAll('table.matrix tbody tr')]
                  .find(r => r.cells[0].innerText === SPOKE_API);
              const stale = row.cells[1], right = document.querySelector('td.cell-right');
              return {problems: [problems.top, lines.length, box(lines.at(-1)).bottom,
                                 innerHeight, document.documentElement.scrollWidth, innerWidth],
                      svgs,
                      stale: [stale.dataset.outcome, getComputedStyle(stale).backgroundColor],
                      right: [right.dataset.outcome, getComputedStyle(right).backgroundColor]}; })()"""
        )
        screen.screenshot(ARTIFACTS / "report-demo-first-screen.png", full_page=False)
    top, count, last_bottom, height, scroll_width, width = shown["problems"]
    assert count == len(event_problems(demo_report[1])) == 21
    assert 0 <= top < last_bottom <= height == 900, shown["problems"]
    assert scroll_width <= width == 1400, shown["problems"]
    assert 3 == len(shown["svgs"])
    assert all(
        w > 0 and h > 0 and broken > 0 and dash == "6 4" for w, h, broken, dash in shown["svgs"]
    )
    assert "stale" == shown["stale"][0] and "right" == shown["right"][0]
    assert shown["stale"][1] != shown["right"][1]


def test_a_failing_cell_links_the_finding_it_explains(page: Page) -> None:
    """Following the link from the public cell lands on the DNS finding's article."""
    target = page.evaluate(
        f"""(() => {{ const row = [...document.querySelectorAll('table.matrix tbody tr')]
              .find(r => r.cells[0].innerText === {json.dumps(NOTEBOOKS_BROKEN)});
            const link = row.cells[1].querySelector('.explains a');
            const article = document.querySelector(link.getAttribute('href'));
            return [link.innerText, article.querySelector('h3').textContent]; }})()"""
    )
    assert [
        "dns_name_resolves_private_endpoint",
        "FAIL Workspace and scoring names resolve to the private endpoint inside the VNet: "
        + NOTEBOOKS_BROKEN,
    ] == target


def test_copy_button_puts_the_command_on_the_clipboard(page: Page, browser: Browser) -> None:
    """A real click on the Key Vault finding's button copies its az command and says so."""
    browser.call(
        "Browser.grantPermissions",
        {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    command = page.evaluate(
        """(() => { const b = [...document.querySelectorAll('button.copy')]
              .find(b => b.getAttribute('aria-label').endsWith('kv-broken'));
            b.id = 'kv-copy'; return [b.hidden, document.getElementById(b.dataset.copy).textContent]; })()"""
    )
    assert [
        False,
        "az keyvault update --name kv-broken --subscription 6d3b1a52-8f1e-4c3a-9a7e-2b5c8d9e0f11 --resource-group rg-ml-prod --bypass AzureServices",
    ] == command

    page.click("#kv-copy")

    assert command[1] == page.evaluate("navigator.clipboard.readText()")
    assert ["Copied", "Command copied to the clipboard."] == page.evaluate(
        "[document.getElementById('kv-copy').innerText, document.getElementById('copy-status').textContent]"
    )


def test_without_javascript_the_content_is_there_and_no_dead_button(
    browser: Browser, demo_report: tuple[Path, list[dict[str, Any]]]
) -> None:
    """With scripts off every command is readable text and no copy button shows."""
    quiet = browser.open(demo_report[0].as_uri(), javascript=False)
    html = quiet.call(
        "DOM.getOuterHTML", {"nodeId": quiet.call("DOM.getDocument")["root"]["nodeId"]}
    )
    text = html["outerHTML"]
    assert (
        "az keyvault update --name kv-broken --subscription 6d3b1a52-8f1e-4c3a-9a7e-2b5c8d9e0f11 --resource-group rg-ml-prod --bypass AzureServices"
        in text
    )
    buttons = re.findall(r"<button[^>]*>", text)
    commands = [e for e in demo_report[1] if (e["remediation"] or {}).get("command")]
    # One per failing finding's command, and one per problem block whose fix has a command.
    fixes = [b for b in buttons if 'data-copy="command-problem-' in b]
    assert len(commands) == len(buttons) - len(fixes)
    assert 0 < len(fixes) <= len(re.findall(r'<article[^>]*class="problem"', text))
    assert all(b.endswith(' hidden="">') for b in buttons), buttons


def test_print_hides_navigation_and_buttons(page: Page) -> None:
    """In print media the navigation and the copy buttons are gone and the tables stay."""
    page.call("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        shown = page.evaluate(
            """['nav', 'button.copy', 'table.matrix'].map(s =>
                 getComputedStyle(document.querySelector(s)).display)"""
        )
        pdf = page.call("Page.printToPDF", {"printBackground": True})
    finally:
        page.call("Emulation.setEmulatedMedia", {"media": ""})
    assert ["none", "none", "table"] == shown
    assert pdf["data"]


def test_screenshot_is_saved_as_a_test_artifact(
    page: Page, demo_report: tuple[Path, list[dict[str, Any]]]
) -> None:
    """The whole page as PNG under test-artifacts/ (the README's picture comes from here)."""
    path = ARTIFACTS / "report-demo.png"
    path.unlink(missing_ok=True)

    page.screenshot(path)
    shutil.copyfile(demo_report[0], ARTIFACTS / "report-demo.html")

    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert path.stat().st_size > 50_000
