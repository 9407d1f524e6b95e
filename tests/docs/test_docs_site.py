"""The docs site builds strictly and offline, and what it builds loads nothing from elsewhere.

``mkdocs build --strict`` runs as the docs say (``uv run mkdocs build --strict``), into a temporary
directory, with every proxy variable pointing at a closed local port: a build step that fetched
something (a font, a CDN script, an inventory) would fail. Then the built HTML is read: no page
loads an external script, style sheet, font, image or frame, the style sheets name no remote
``url(...)``, and no page links outside the docs except to the named sites of ``ALLOWED_SITES``
(the docs plan's list). A small site with a broken link and a broken anchor shows that the
strict build refuses both.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "mkdocs.yml"
BUILD_TIMEOUT_S = 300

#: the external sites a page may link to (host, path prefix)
ALLOWED_SITES: tuple[tuple[str, str], ...] = (
    ("airflow.apache.org", "/"),
    ("docs.aws.amazon.com", "/"),
    ("boto3.amazonaws.com", "/"),
    ("botocore.amazonaws.com", "/"),
    ("pypi.org", "/"),
    ("github.com", "/apache/airflow"),
    ("spark.apache.org", "/"),
    ("keepachangelog.com", "/"),
    ("semver.org", "/"),
    ("squidfunk.github.io", "/"),
    ("mkdocstrings.github.io", "/"),
    ("docs.pydantic.dev", "/"),
    ("typer.tiangolo.com", "/"),
)


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def offline_env() -> dict[str, str]:
    """The environment with every proxy pointing at a closed port: the network is out of reach."""
    closed = f"http://127.0.0.1:{_closed_port()}"
    env = {k: v for k, v in os.environ.items() if k.lower() not in {"no_proxy"}}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env[name] = closed
    env["NO_MKDOCS_2_WARNING"] = "1"
    return env


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of ``config`` into ``site``, offline, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        cwd=REPO,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )


class _Loader(yaml.SafeLoader):
    """mkdocs.yml's own tags (``!relative``) read as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def nav_pages() -> list[str]:
    """Every page of mkdocs.yml's nav (paths under docs/)."""

    def walk(entries: object) -> Iterator[str]:
        if isinstance(entries, str):
            yield entries
        elif isinstance(entries, list):
            for entry in entries:
                yield from walk(entry)
        elif isinstance(entries, dict):
            for value in entries.values():
                yield from walk(value)

    config = yaml.load(CONFIG.read_text(encoding="utf-8"), Loader=_Loader)
    return list(walk(config["nav"]))


def built_page(site: Path, page: str) -> Path:
    """Where MkDocs writes ``page`` (directory URLs: ``a/b.md`` -> ``a/b/index.html``)."""
    stem = page.removesuffix(".md")
    if stem == "index" or stem.endswith("/index"):
        return site / stem.removesuffix("index") / "index.html"
    return site / stem / "index.html"


class _Resources(HTMLParser):
    """The URLs a page loads (scripts, styles, fonts, images, frames) and the links it has."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "a" and "href" in values:
            self.links.append(values["href"])
        elif tag == "link" and "href" in values:
            self.loads.append(values["href"])
        elif tag in {"script", "img", "iframe", "source", "audio", "video", "embed"}:
            self.loads.extend(values[name] for name in ("src", "data-src") if name in values)
            if "srcset" in values:
                self.loads.extend(part.split()[0] for part in values["srcset"].split(",") if part.strip())
        elif tag == "object" and "data" in values:
            self.loads.append(values["data"])
        if "style" in values:
            self.loads.extend(CSS_URL.findall(values["style"]))


CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)""")
CSS_IMPORT = re.compile(r"""@import\s+['"]([^'"]+)""")


def is_external(url: str) -> bool:
    return url.startswith("//") or bool(re.match(r"^[a-z][a-z0-9+.-]*://", url, re.I))


def allowed_link(url: str) -> bool:
    parts = urlsplit(url if not url.startswith("//") else f"https:{url}")
    return parts.scheme in {"http", "https"} and any(
        parts.hostname == host and parts.path.startswith(prefix) for host, prefix in ALLOWED_SITES
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    result = build(CONFIG, target)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return target


def test_every_page_of_the_nav_is_built(site: Path) -> None:
    pages = nav_pages()
    assert len(pages) >= 20
    missing = [page for page in pages if not built_page(site, page).is_file()]
    assert not missing
    # Material's own search: its index is built with the site, its worker is one of the site's files
    assert (site / "search" / "search_index.json").is_file()
    assert list((site / "assets" / "javascripts" / "workers").glob("search*.js"))


def test_no_built_page_loads_anything_from_elsewhere(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert pages
    external: dict[str, list[str]] = {}
    for page in pages:
        parser = _Resources()
        parser.feed(page.read_text(encoding="utf-8"))
        remote = [url for url in parser.loads if is_external(url)]
        if remote:
            external[str(page.relative_to(site))] = remote
    assert not external, f"pages loading external resources: {external}"
    for sheet in sorted(site.rglob("*.css")):
        text = sheet.read_text(encoding="utf-8")
        remote = [url for url in CSS_URL.findall(text) + CSS_IMPORT.findall(text) if is_external(url)]
        assert not remote, f"{sheet.relative_to(site)} loads {remote}"


def test_no_page_links_outside_the_docs_but_to_the_named_sites(site: Path) -> None:
    outside: dict[str, list[str]] = {}
    for page in sorted(site.rglob("*.html")):
        parser = _Resources()
        parser.feed(page.read_text(encoding="utf-8"))
        bad = [url for url in parser.links if is_external(url) and not allowed_link(url)]
        bad += [url for url in parser.links if url.startswith(("mailto:", "file:", "javascript:"))]
        if bad:
            outside[str(page.relative_to(site))] = sorted(set(bad))
    assert not outside, f"links outside the docs to sites not in ALLOWED_SITES: {outside}"


def test_the_link_check_accepts_the_named_sites_only() -> None:
    assert allowed_link("https://airflow.apache.org/docs/apache-airflow/stable/")
    assert allowed_link("https://github.com/apache/airflow/issues/1")
    assert not allowed_link("https://github.com/someone/else")
    assert not allowed_link("https://example.com/")
    assert not allowed_link("http://pypi.org.evil.example/")
    assert is_external("//cdn.example/x.js")
    assert not is_external("../assets/x.js")


def test_the_strict_build_refuses_a_broken_link_and_a_broken_anchor(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\n## Here\n\n[the other page](other.md)\n", encoding="utf-8")
    config = tmp_path / "mkdocs.yml"

    def site_with(other: str) -> subprocess.CompletedProcess[str]:
        (docs / "other.md").write_text(other, encoding="utf-8")
        config.write_text(f"INHERIT: {CONFIG}\ndocs_dir: {docs}\nnav:\n  - index.md\n  - other.md\n", encoding="utf-8")
        return build(config, tmp_path / "site")

    good = site_with("# Other\n\n[home](index.md#here)\n")
    assert good.returncode == 0, good.stderr
    broken_anchor = site_with("# Other\n\n[home](index.md#nowhere)\n")
    assert broken_anchor.returncode != 0
    assert "nowhere" in broken_anchor.stderr
    broken_link = site_with("# Other\n\n[gone](gone.md)\n")
    assert broken_link.returncode != 0
    assert "gone.md" in broken_link.stderr
    missing_include = site_with('# Other\n\n```text\n--8<-- "no/such/file.py"\n```\n')
    assert missing_include.returncode != 0


def test_every_python_include_block_is_kept_from_ruff_format() -> None:
    """ruff formats the Python blocks of the pages; a block holding a snippet include line would be
    rewritten (``--8 < --"..."``) and the include broken, so each sits in ``<!-- fmt: off -->``."""
    unguarded = []
    for page in sorted((REPO / "docs").rglob("*.md")):
        lines = page.read_text(encoding="utf-8").splitlines()
        guarded = False
        for number, line in enumerate(lines, 1):
            stripped = line.strip()
            if stripped in ("<!-- fmt: off -->", "<!-- fmt: on -->"):
                guarded = stripped == "<!-- fmt: off -->"
            elif stripped.startswith("--8<--") and not guarded and _in_python_block(lines, number - 1):
                unguarded.append(f"{page.relative_to(REPO)}:{number}")
    assert not unguarded, f"snippet includes in python blocks without <!-- fmt: off -->: {unguarded}"


def _in_python_block(lines: list[str], index: int) -> bool:
    """Whether line ``index`` is inside a fenced ``python`` block."""
    language = None
    for line in lines[:index]:
        stripped = line.strip()
        if stripped.startswith("```"):
            language = None if language is not None else (stripped[3:].strip() or "")
    return language == "python"
