"""One workspace's resolution chain as an inline SVG: resolvers (host → the VNet's DNS servers →
Azure DNS) → private DNS zones → records → private endpoint IPs, with the broken edges drawn red
and dashed.

It is drawn from the workspace's matrix (``ResolutionMatrix``), whose cells are the recorded DNS
answers judged against the evidence (``matrix.classify``), so the picture and the matrix never
disagree. An edge is broken when an answer along it is not a right one:

- host → DNS server (an arc in the resolver column): the server answered none of the names
  (down, refusing, looping), so the host's queries to it go nowhere;
- DNS server → Azure DNS (an arc): the server answered wrongly a name Azure DNS answered right,
  so it does not pass Azure DNS's answer on (no forwarder, a local copy, rebinding protection);
- resolver → zone: one of the zone's names got a wrong answer from that resolver;
  for Azure DNS that edge is also the zone's virtual network link, broken when
  ``privatedns_zone_linked_agent_vnet`` failed for a zone of that name;
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
_COLUMNS = (40, 290, 590, 1030)  # x of the four node columns (resolvers, zones, records, IPs)
_WIDTH = 1210
_LABEL = 56  # characters of a label that fit before the next column (12 px monospace)
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


def chain_svg(
    matrix: ResolutionMatrix, anchor: str, unlinked_zones: frozenset[str] = frozenset()
) -> Html:
    """The picture of ``matrix``'s chain; ``anchor`` is the id it gets (for tests and links);
    ``unlinked_zones`` are the (lower-case) names of zones whose link check failed."""
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
                why = f"{len(wrong)} wrong answer(s)"
                unlinked = resolver.kind == "azure" and zone in unlinked_zones
                if unlinked:
                    why += "; the zone is not linked where Azure DNS answers"
                edges.append((f"r:{resolver.name}", f"z:{zone}", bool(wrong) or unlinked, why))
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
    lines = [_arc(place, start, end, broken, why) for start, end, broken, why in _hops(matrix)]
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
        element(
            "text",
            element("title", text) if len(text) > _LABEL else None,
            _shortened(text),
            x=place[key][0],
            y=place[key][1],
            class_=f"node node-{key[0]}",
        )
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


def _hops(matrix: ResolutionMatrix) -> list[tuple[str, str, bool, str]]:
    """The forwarding edges inside the resolver column: host → each custom server, each custom
    server → Azure DNS (from, to, broken, why)."""
    servers = [r for r in matrix.resolvers if r.kind == "custom"]
    hosts = [r for r in matrix.resolvers if r.kind == "host"]
    azure = [r for r in matrix.resolvers if r.kind == "azure"]
    hops = []
    for server in servers:
        answers = [matrix.cells[(f, server)] for f in matrix.fqdns if (f, server) in matrix.cells]
        silent = bool(answers) and all(not c.addresses and not c.cname_chain for c in answers)
        for host in hosts:
            why = "no answer for any name" if silent else "answers"
            hops.append((f"r:{host.name}", f"r:{server.name}", silent, why))
        for resolver in azure:
            dropped = [
                f
                for f in matrix.fqdns
                if (f, resolver) in matrix.cells
                and (f, server) in matrix.cells
                and matrix.cells[(f, resolver)].outcome in _HEALTHY
                and matrix.cells[(f, server)].outcome not in _HEALTHY
            ]
            if silent:  # its outage is the host → server edge; nothing came back to compare
                why = "no answer to compare with Azure DNS's"
            elif dropped:
                why = f"{len(dropped)} name(s) Azure DNS answers right come back wrong"
            else:
                why = "passes Azure DNS's answers on"
            hops.append(
                (f"r:{server.name}", f"r:{resolver.name}", bool(dropped) and not silent, why)
            )
    return hops


def _arc(place: dict[str, tuple[int, int]], start: str, end: str, broken: bool, why: str) -> Html:
    """A curve left of the resolver column from one resolver's label to another's."""
    (x, y1), (_, y2) = place[start], place[end]
    bend = x - 12 - min(24, abs(y2 - y1) // 6)
    return element(
        "path",
        element("title", f"{start[2:]} → {end[2:]}: {why}"),
        d=f"M {x - 4} {y1 - 4} Q {bend} {(y1 + y2) // 2 - 4} {x - 4} {y2 - 4}",
        fill="none",
        class_="edge hop edge-broken" if broken else "edge hop",
        **(_BROKEN if broken else _WORKING),
    )


def _shortened(label: str) -> str:
    """A label that fits its column: long names keep their start and end (the GUID's head and
    the zone), the whole name is the node's title."""
    if len(label) <= _LABEL:
        return label
    head = _LABEL // 2 - 1
    return f"{label[:head]}…{label[-(_LABEL - head - 1) :]}"
