"""Values quoted in Markdown (quarantine reports, Prefect artifacts) shown as text: a sample
value or file name is data, never markup, HTML or a link that a viewer would render."""

from __future__ import annotations

import html
import re

# Characters that start Markdown markup inside a line (emphasis, links, tables, code, HTML).
_MARKUP = re.compile(r"([\\`*_\[\]|~])")


def text(value: object) -> str:
    """A value as inline Markdown text: on one line, HTML escaped, markup characters escaped."""
    one_line = " ".join(str(value).split())
    return _MARKUP.sub(r"\\\1", html.escape(one_line, quote=False))


def code(value: object) -> str:
    """A value as an inline code span: a fence longer than any run of backticks in it."""
    one_line = " ".join(str(value).split())
    longest = max((len(run) for run in re.findall(r"`+", one_line)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {one_line} " if one_line.startswith("`") or one_line.endswith("`") else one_line
    return f"{fence}{padded}{fence}"
