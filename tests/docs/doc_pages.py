"""Where the documentation lives, for the tests that check a claim of it against the code.

The docs are README.md plus every page under ``docs/`` (the MkDocs site). A test looks a section up
by its heading or a generated region by its markers, wherever the page holding it is, so moving a
section between pages does not break the test that keeps it true.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS_DIR = REPO / "docs"
SCRIPTS_DIR = REPO / "scripts"


def doc_files() -> list[Path]:
    """README.md, then every Markdown page of the docs site in path order."""
    return [README, *sorted(DOCS_DIR.rglob("*.md"))]


@dataclass(frozen=True)
class Section:
    """A heading's text up to the next heading of the same or a higher level, and where it is."""

    path: Path
    heading: str
    text: str


_HEADING = re.compile(r"^(?P<hashes>#{1,6}) (?P<title>.+?)\s*$")


def _titled(heading: str, title: str) -> bool:
    """``heading`` is ``title``, or ``title`` followed by a parenthesis ("Storage contract (...)")."""
    return heading == title or heading.startswith(f"{title} (")


def _sections_of(path: Path, title: str) -> list[Section]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Section] = []
    in_fence = False
    for start, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None or not _titled(match["title"], title):
            continue
        level = len(match["hashes"])
        end = len(lines)
        fence = False
        for index in range(start + 1, len(lines)):
            if lines[index].lstrip().startswith("```"):
                fence = not fence
            other = None if fence else _HEADING.match(lines[index])
            if other is not None and len(other["hashes"]) <= level:
                end = index
                break
        found.append(Section(path, line, "\n".join(lines[start + 1 : end])))
    return found


def section(title: str) -> Section:
    """The one section titled ``title`` (the heading's text without its ``#``) in all the docs."""
    found = [hit for path in doc_files() for hit in _sections_of(path, title)]
    if len(found) != 1:
        where = ", ".join(f"{hit.path.relative_to(REPO)}" for hit in found) or "nowhere"
        raise LookupError(f"expected one section titled {title!r} in the docs, found it in: {where}")
    return found[0]


def marked_region(name: str) -> tuple[Path, str]:
    """The page holding ``<!-- name:start -->`` ... ``<!-- name:end -->`` and the text between."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    hits = [path for path in doc_files() if start in path.read_text(encoding="utf-8")]
    if len(hits) != 1:
        raise LookupError(f"expected the region {name!r} in one page, found it in {len(hits)}")
    text = hits[0].read_text(encoding="utf-8")
    return hits[0], text.split(start, 1)[1].split(end, 1)[0]


def docs_script(name: str) -> ModuleType:
    """``scripts/<name>.py``, a generator of a docs page or an mkdocs extension, as a module:
    loaded once, under ``name`` in ``sys.modules`` (its dataclasses look their module up there)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPTS_DIR / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
