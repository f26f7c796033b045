"""Markdown pages the benches rewrite in part: a marked block replaced, the prose around it kept."""

from __future__ import annotations

import re
from pathlib import Path


def replace_block(path: Path, block: str, begin: str, end: str, title: str) -> None:
    """Put ``block`` between the ``begin`` and ``end`` markers in ``path``, keeping the text
    around them; the first time, append it (to a new page headed ``title``)."""
    text = path.read_text() if path.exists() else title
    block = f"{begin}\n{block}{end}\n"
    earlier = re.compile(f"{re.escape(begin)}.*?{re.escape(end)}\n?", re.DOTALL)
    if earlier.search(text):
        text = earlier.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table: ``header`` and ``rows`` of cell strings."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
