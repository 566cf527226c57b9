"""One workspace's resolution chain as an inline SVG: resolvers → private DNS zones → records →
private endpoint IPs, with the broken edges drawn red and dashed.

It is drawn from the workspace's matrix (``ResolutionMatrix``), whose cells are the recorded DNS
answers judged against the evidence (``matrix.classify``), so the picture and the matrix never
disagree. An edge is broken when an answer along it is not a right one:

- resolver → zone: one of the zone's names got a wrong answer from that resolver;
- zone → record: Azure DNS (or, without an Azure DNS column, every resolver) answered the
  name wrongly, so the record itself is missing, stale or public;
- record → PE IP: no resolver's answer contains that endpoint IP.
"""

from __future__ import annotations

from collections.abc import Sequence

from netverify.report.markup import Html, element
from netverify.report.matrix import Cell, Outcome, ResolutionMatrix

_HEALTHY = (Outcome.RIGHT, Outcome.PRIVATE)
_KINDS = "rzni"  # node key prefixes by column: resolver, zone, name (record), IP
_ROW = 24  # px per node row
_COLUMNS = (10, 260, 560, 1000)  # x of the four node columns (resolvers, zones, records, IPs)
_WIDTH = 1180
_BROKEN: dict[str, str | int] = {"stroke": "#b42318", "stroke_dasharray": "6 4", "stroke_width": 2}
_WORKING: dict[str, str | int] = {"stroke": "#8c959f", "stroke_width": 1}


def zone_of(fqdn: str, cells: Sequence[Cell]) -> str:
    """The private link zone a name's answers went through (the ``privatelink.`` suffix of its
    CNAME chain), or "(no privatelink CNAME)" when no answer followed one."""
    for cell in cells:
        for name in cell.cname_chain:
            at = name.find("privatelink.")
            if at >= 0:
                return name[at:].rstrip(".").lower()
    return "(no privatelink CNAME)"


def chain_svg(matrix: ResolutionMatrix, anchor: str) -> Html:
    """The picture of ``matrix``'s chain; ``anchor`` is the id it gets (for tests and links)."""
    cells = {
        fqdn: {r: matrix.cells[(fqdn, r)] for r in matrix.resolvers if (fqdn, r) in matrix.cells}
        for fqdn in matrix.fqdns
    }
    zones = {fqdn: zone_of(fqdn, list(cells[fqdn].values())) for fqdn in matrix.fqdns}
    zone_list = sorted(set(zones.values()))
    ips = sorted({ip for row in cells.values() for c in row.values() for ip in c.expected})
    azure = [r for r in matrix.resolvers if r.kind == "azure"]
    edges: list[tuple[str, str, bool, str]] = []  # from, to, broken, why
    for resolver in matrix.resolvers:
        for zone in zone_list:
            answered = [
                cells[f][resolver]
                for f in matrix.fqdns
                if zones[f] == zone and resolver in cells[f]
            ]
            if answered:
                wrong = [c for c in answered if c.outcome not in _HEALTHY]
                edges.append(
                    (
                        f"r:{resolver.name}",
                        f"z:{zone}",
                        bool(wrong),
                        f"{len(wrong)} wrong answer(s)",
                    )
                )
    for fqdn in matrix.fqdns:
        judges = [cells[fqdn][r] for r in azure if r in cells[fqdn]] or list(cells[fqdn].values())
        bad = [c.outcome.value for c in judges if c.outcome not in _HEALTHY]
        edges.append((f"z:{zones[fqdn]}", f"n:{fqdn}", bool(bad), ", ".join(bad) or "right"))
        expected = sorted({ip for c in cells[fqdn].values() for ip in c.expected})
        for ip in expected:
            seen = any(ip in c.addresses for c in cells[fqdn].values())
            edges.append(
                (f"n:{fqdn}", f"i:{ip}", not seen, "answered" if seen else "never answered")
            )
    columns = [
        [(f"r:{r.name}", r.name) for r in matrix.resolvers],
        [(f"z:{z}", z) for z in zone_list],
        [(f"n:{f}", f) for f in matrix.fqdns],
        [(f"i:{ip}", ip) for ip in ips],
    ]
    place = {
        key: (_COLUMNS[col], _ROW * (row + 1))
        for col, nodes in enumerate(columns)
        for row, (key, _) in enumerate(nodes)
    }
    height = _ROW * (max(len(c) for c in columns) + 1)
    lines = []
    for start, end, broken, why in edges:
        (_, y1), (x2, y2) = place[start], place[end]
        lines.append(
            element(
                "line",
                element("title", f"{start[2:]} → {end[2:]}: {why}"),
                x1=_COLUMNS[_KINDS.index(start[0]) + 1] - 20,
                y1=y1 - 4,
                x2=x2 - 4,
                y2=y2 - 4,
                class_="edge edge-broken" if broken else "edge",
                **(_BROKEN if broken else _WORKING),
            )
        )
    labels = [
        element("text", text, x=place[key][0], y=place[key][1], class_=f"node node-{key[0]}")
        for nodes in columns
        for key, text in nodes
    ]
    headers = [
        element("text", title, x=x, y=12, class_="column")
        for x, title in zip(_COLUMNS, ("Resolvers", "Zones", "Records", "PE IPs"), strict=True)
    ]
    return element(
        "svg",
        element("title", f"Resolution chain of workspace {matrix.workspace}", id=f"{anchor}-title"),
        headers,
        lines,
        labels,
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {_WIDTH} {height}",
        width=_WIDTH,
        height=height,
        role="img",
        class_="chain",
        id=anchor,
        aria_labelledby=f"{anchor}-title",
    )
