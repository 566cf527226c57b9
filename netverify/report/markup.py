"""Building HTML safely: data is escaped by type, so no call site has to remember to.

``Html`` marks text that already is markup; every other ``str`` that reaches ``element`` — as
a child or as an attribute value — is escaped. Finding messages, evidence and resource names
come from ARM and DNS answers, so escaping can never be optional.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import TypeAlias


class Html(str):
    """Text that is markup already: inserted as it is, never escaped a second time."""

    __slots__ = ()


Content: TypeAlias = "Html | str | int | Iterable[Content] | None"

# Elements that have no end tag (HTML Living Standard, "void elements").
_VOID = frozenset({"br", "col", "hr", "img", "input", "link", "meta", "wbr"})


def element(tag: str, *children: Content, **attributes: str | int | bool | None) -> Html:
    """``<tag attributes>children</tag>``; ``class_`` -> class, ``aria_label`` -> aria-label.

    An attribute that is None or False is left out; True writes it bare (``hidden``).
    """
    parts = [f"<{tag}"]
    for name, value in attributes.items():
        if value is None or value is False:
            continue
        key = name.rstrip("_").replace("_", "-")
        parts.append(f" {key}" if value is True else f' {key}="{html.escape(str(value))}"')
    parts.append(">")
    if tag in _VOID:
        return Html("".join(parts))
    return Html("".join(parts) + join(children) + f"</{tag}>")


def join(children: Iterable[Content]) -> Html:
    """The children as one piece of markup, every plain string escaped."""
    out: list[str] = []
    for child in children:
        if child is None:
            continue
        if isinstance(child, Html):
            out.append(child)
        elif isinstance(child, str | int):
            out.append(html.escape(str(child), quote=False))
        else:
            out.append(join(child))
    return Html("".join(out))
