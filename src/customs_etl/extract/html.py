"""HTML pages as the sources serve them: a tolerant parser keeping what the readers need
(tables, headings, links, text), and the test for an anti-bot challenge or error page that
must never be taken for content."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser


def detect_challenge_or_error(body: bytes, content_type: str | None) -> str | None:
    """Why a response is an anti-bot challenge or an error page rather than content, or None."""
    if not body.strip():
        return "the body is empty"
    if content_type and not is_html(content_type):
        return f"not an HTML page (content type {content_type!r})"
    text = decode(body)
    lowered = text.lower()
    for marker, what in _CHALLENGE_MARKERS:
        if marker in lowered:
            return f"an anti-bot challenge page ({what})"
    if not _TAGS_THAT_TELL.search(lowered):
        # Without a title, heading or script tag neither test below can fire; parsing the page
        # is then wasted (every CSV export is checked, and commodity names hold "<").
        return None
    page = Page.parse(text)
    error = _ERROR_MARKERS.search(" ".join([page.title_text, *page.headings]))
    if error is not None:
        return f"an error page (title or heading says {error.group(0)!r})"
    if not page.tables and not page.links and "<script" in lowered and len(page.text) < 200:
        # A near-empty page that only runs scripts is how unknown challenges look.
        return "a script-only page with no content (likely a JavaScript challenge)"
    return None


def page_links(html: str) -> list[tuple[str, str, str]]:
    """Every <a> of a page as (href, text, title attribute), whitespace collapsed."""
    return Page.parse(html).links


_CHALLENGE_MARKERS = (
    ("$_ts", "Ruishu JavaScript challenge"),
    ("__jsl_clearance", "Jiasule JavaScript challenge"),
    ("captcha", "CAPTCHA"),
    ("verify you are human", "human verification"),
    ("enable javascript", "asks to enable JavaScript"),
    ("please turn javascript on", "asks to enable JavaScript"),
    ("访问验证", "access verification"),
    ("安全验证", "security verification"),
    ("cf-challenge", "Cloudflare challenge"),
)


# Words an error page puts in its <title> or heading (matched as words, not inside numbers).
_ERROR_MARKERS = re.compile(
    r"\b(?:40[34]|50[0234]|not found|forbidden|bad gateway|service unavailable|"
    r"internal server error|error)\b|页面不存在|系统繁忙|访问出错|服务器错误",
    re.IGNORECASE,
)


# The tags whose content the error and script-only tests read (the parser lowercases tag names).
_TAGS_THAT_TELL = re.compile(r"<(?:title|h[1-6]|script)")


def is_html(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind in ("text/html", "application/xhtml+xml")


def decode(html: bytes | str) -> str:
    """GACC's English pages are UTF-8; the Chinese site's GB18030 is the fallback."""
    if isinstance(html, str):
        return html
    try:
        return html.decode("utf-8-sig")
    except UnicodeDecodeError:
        return html.decode("gb18030", errors="replace")


def clean(text: str) -> str:
    """Collapse runs of whitespace, including &nbsp; and the ideographic space Word leaves."""
    return " ".join(text.split())


@dataclass
class Table:
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Page:
    """What the parser keeps of a page: tables (innermost only), headings, links, all text."""

    tables: list[Table]
    headings: list[str]
    links: list[tuple[str, str, str]]  # (href, link text, title attribute)
    title_text: str
    text: str

    @classmethod
    def parse(cls, html: str) -> Page:
        collector = _Collector()
        collector.feed(html)
        collector.close()
        return cls(
            tables=collector.done_tables,
            headings=[clean(h) for h in collector.headings],
            links=[(href, clean(text), clean(title)) for href, text, title in collector.links],
            title_text=clean(collector.title),
            text=clean(" ".join(collector.blocks)),
        )


_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "tr", "td", "th", "li", "h1", "h2", "h3", "h4", "h5", "h6", "title"}
)


_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


class _Collector(HTMLParser):
    """Stdlib HTML parser (no lxml/bs4 in the environment) tolerant of Word-exported markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.done_tables: list[Table] = []
        self.headings: list[str] = []
        self.links: list[tuple[str, str, str]] = []
        self.title = ""
        self._tables: list[Table] = []
        self._cell: list[str] | None = None
        self._skip = 0  # inside <script> or <style>
        self._in_title = False
        self._heading: list[str] | None = None
        self._link: tuple[str, str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            self._end_cell()
            self._tables.append(Table())
        elif tag == "tr" and self._tables:
            self._end_cell()
            self._tables[-1].rows.append([])
        elif tag in ("td", "th") and self._tables:
            self._end_cell()
            if not self._tables[-1].rows:  # a cell before any <tr>: browsers open one
                self._tables[-1].rows.append([])
            self._cell = []
        elif tag == "title":
            self._in_title = True
        elif tag in _HEADING_TAGS:
            self._heading = []
        elif tag == "a":
            values = dict(attrs)
            self._link = (values.get("href") or "", values.get("title") or "", [])
        if tag in _BLOCK_TAGS:
            self.blocks.append("\n")
            if self._cell is not None and tag in ("br", "p", "div"):
                self._cell.append(" ")  # "Korea,<br>Rep." reads "Korea, Rep."

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == "table" and self._tables:
            self._end_cell()
            self.done_tables.append(self._tables.pop())
        elif tag in ("td", "th", "tr"):
            self._end_cell()
        elif tag == "title":
            self._in_title = False
        elif tag in _HEADING_TAGS and self._heading is not None:
            self.headings.append("".join(self._heading))
            self._heading = None
        elif tag == "a" and self._link is not None:
            href, title, text = self._link
            self.links.append((href, "".join(text), title))
            self._link = None
        if tag in _BLOCK_TAGS:
            self.blocks.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.blocks.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._in_title:
            self.title += data
        if self._heading is not None:
            self._heading.append(data)
        if self._link is not None:
            self._link[2].append(data)

    def close(self) -> None:
        super().close()
        self._end_cell()
        while self._tables:  # unclosed tables still count
            self.done_tables.append(self._tables.pop())

    def _end_cell(self) -> None:
        if self._cell is not None and self._tables and self._tables[-1].rows:
            self._tables[-1].rows[-1].append(clean("".join(self._cell)))
        self._cell = None
