"""Render the package's Jinja templates (``lib/seglab/templates``) into self-contained HTML."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("seglab", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )


def render(template: str, **context: Any) -> str:
    """Render ``template`` with ``context`` (autoescaped; an undefined name is an error)."""
    return _environment().get_template(template).render(**context)
