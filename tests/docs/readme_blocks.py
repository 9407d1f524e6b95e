"""Extract the fenced code blocks of the docs (README.md and every docs/**/*.md page) and say how
the suite runs each one.

A block's language decides how it runs:

* ``python``: executed; consecutive python blocks of one ``## `` section of a page share a
  namespace when the later one is marked ``<!-- readme-test: continue -->``;
* ``bash``/``sh``/``console``-free shell: run with ``bash -euo pipefail``;
* ``yaml``: parsed; ``json``: parsed;
* ``text`` (and diagrams without code): not code, nothing to run.

An HTML comment on the line right above a fence changes that:

* ``<!-- readme-test: fragment -->``: only a piece of a file (a DAG body, a job that needs a Spark
  session, a command that starts a server or the test suite itself); it is compiled
  (``compile()`` for python, ``bash -n`` for shell) but not run;
* ``<!-- readme-test: continue -->``: run in the namespace (python) or after the commands (shell)
  of the previous block of the same language;
* ``<!-- readme-test: env -->`` (shell only): the block sets variables (``export ...``) that the
  later blocks of its section rely on; it runs on its own, and again before each of those blocks
  (a python block then runs in the environment it leaves).

Other HTML comments between the directives and the fence (markers other tests look for, such as
``<!-- ui-api-example:bash -->``) are skipped.

Blocks without a language are refused: every block says what it is.

A block whose only line is a snippet include (pymdownx.snippets, as MkDocs renders it) is the file
it names, so what the page shows is what runs: ``--8<-- "dags_examples/file.py"`` is the whole file,
``--8<-- "dags_examples/file.py:name"`` the lines between ``--8<-- [start:name]`` and
``--8<-- [end:name]`` (marker lines, e.g. ``# --8<-- [start:name]``, are left out, as MkDocs leaves
them out). Paths are relative to the repository root. An include of a missing file or section is
an error (:class:`ReadmeFormatError`), so the page cannot show what no longer exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+)(?P<info>[^`]*)$")
DIRECTIVE = re.compile(r"^\s*<!--\s*readme-test:\s*(?P<words>[a-z -]+?)\s*-->\s*$")
SHELL_LANGUAGES = frozenset({"bash", "sh", "shell"})
KNOWN_LANGUAGES = frozenset({"python", "yaml", "json", "text"}) | SHELL_LANGUAGES
DIRECTIVES = frozenset({"fragment", "continue", "env"})
HTML_COMMENT = re.compile(r"^\s*<!--.*-->\s*$")
#: a fenced block's only line: ``--8<-- "path"`` or ``--8<-- "path:name"``
INCLUDE = re.compile(r'^\s*--8<--\s+"(?P<target>[^"]+)"\s*$')
#: a section marker line of an included file (any comment syntax around it)
SECTION_MARKER = re.compile(r"--8<--\s+\[(?P<edge>start|end):(?P<name>[^\]]+)\]")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its code and the directives above it."""

    line: int  # 1-based line of the opening fence
    section: str  # the nearest "## " heading above it
    language: str
    code: str
    directives: frozenset[str]
    page: str = "README.md"  # the page, relative to the repository root
    #: where the code's first line comes from: (file, lines before it), for tracebacks; the page's
    #: fence for a written block, the included file for an include
    origin: tuple[str, int] = ("", 0)

    @property
    def where(self) -> str:
        """``page:line`` of the opening fence."""
        return f"{self.page}:{self.line}"

    @property
    def source(self) -> tuple[str, int]:
        return self.origin if self.origin[0] else (self.page, self.line)

    @property
    def fragment(self) -> bool:
        return "fragment" in self.directives

    @property
    def continues(self) -> bool:
        return "continue" in self.directives

    @property
    def sets_env(self) -> bool:
        return "env" in self.directives

    @property
    def name(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.section.lower()).strip("-")[:40]
        return f"{self.page}:L{self.line}-{self.language}-{slug}"


class ReadmeFormatError(ValueError):
    """A page has a block the suite cannot classify (no language, unknown directive, an include of
    a missing file or section...)."""


def page_name(path: Path, root: Path = REPO_ROOT) -> str:
    """``path`` relative to the repository root (its own name when outside it)."""
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.name


def expand_include(target: str, where: str, root: Path = REPO_ROOT) -> tuple[str, str, int]:
    """The code a ``--8<-- "target"`` line stands for: (code, file, lines before it in the file)."""
    path_text, _, name = target.partition(":")
    path = root / path_text
    if not path.is_file():
        raise ReadmeFormatError(f"{where}: the snippet include {target!r} names a missing file")
    lines = path.read_text(encoding="utf-8").splitlines()
    first, last = 0, len(lines)
    if name:
        starts = [i for i, x in enumerate(lines) if (m := SECTION_MARKER.search(x)) and m.groups() == ("start", name)]
        ends = [i for i, x in enumerate(lines) if (m := SECTION_MARKER.search(x)) and m.groups() == ("end", name)]
        if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
            raise ReadmeFormatError(
                f"{where}: the snippet include {target!r}: {path_text} needs one [start:{name}] and one "
                f"[end:{name}] marker after it (found {len(starts)} and {len(ends)})"
            )
        first, last = starts[0] + 1, ends[0]
    body = lines[first:last]
    # marker lines of other (nested) sections are not shown: blank them so line numbers still match
    code = "\n".join("" if SECTION_MARKER.search(x) else x for x in body) + "\n"
    return code, path_text, first


def parse_blocks(path: Path, root: Path = REPO_ROOT) -> list[Block]:
    """Every fenced block of ``path`` in document order, snippet includes expanded."""
    return parse_text(path.read_text(encoding="utf-8"), page_name(path, root), root)


def parse_text(text: str, page: str, root: Path = REPO_ROOT) -> list[Block]:
    """Every fenced block of ``text`` (the page ``page``) in document order, includes expanded."""
    lines = text.splitlines()
    blocks: list[Block] = []
    section = "(top)"
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("## "):
            section = line[3:].strip()
        match = FENCE.match(line)
        if not match:
            index += 1
            continue
        fence, language = match["fence"], match["info"].strip().split(" ")[0].lower()
        start = index
        index += 1
        body: list[str] = []
        while index < len(lines) and lines[index].strip() != fence:
            body.append(lines[index][len(match["indent"]) :])
            index += 1
        if index >= len(lines):
            raise ReadmeFormatError(f"{page}:{start + 1}: code block never closed")
        index += 1
        if not language:
            raise ReadmeFormatError(f"{page}:{start + 1}: a code block needs a language (```python, ```text...)")
        if language not in KNOWN_LANGUAGES:
            raise ReadmeFormatError(f"{page}:{start + 1}: unknown block language {language!r}")
        directives = _directives_above(lines, start, page)
        if "env" in directives and language not in SHELL_LANGUAGES:
            raise ReadmeFormatError(f"{page}:{start + 1}: 'env' is for shell blocks (export ...)")
        code, origin = "\n".join(body) + "\n", ("", 0)
        include = [INCLUDE.match(x) for x in body if x.strip()]
        if any(include):
            if len(include) != 1:
                raise ReadmeFormatError(f"{page}:{start + 1}: a block with a snippet include holds that one line only")
            assert include[0] is not None
            code, source, before = expand_include(include[0]["target"], f"{page}:{start + 1}", root)
            origin = (source, before)
        blocks.append(Block(start + 1, section, language, code, directives, page, origin))
    return blocks


def _directives_above(lines: list[str], fence_index: int, page: str) -> frozenset[str]:
    words: set[str] = set()
    above = fence_index - 1
    while above >= 0:
        match = DIRECTIVE.match(lines[above])
        if not match:
            if HTML_COMMENT.match(lines[above]):  # another tool's marker, e.g. <!-- ui-api-example:bash -->
                above -= 1
                continue
            break
        for word in match["words"].split():
            if word not in DIRECTIVES:
                raise ReadmeFormatError(f"{page}:{above + 1}: unknown readme-test directive {word!r}")
            words.add(word)
        above -= 1
    return frozenset(words)


def chains(blocks: list[Block]) -> list[list[Block]]:
    """Runnable blocks grouped so that a ``continue`` block runs after the block it continues (in
    the same section of the same page: a page's namespace never leaks into another's)."""
    grouped: list[list[Block]] = []
    last_by_language: dict[str, list[Block]] = {}
    for block in blocks:
        kind = "shell" if block.language in SHELL_LANGUAGES else block.language
        if block.continues:
            previous = last_by_language.get(kind)
            if previous is None or (previous[-1].page, previous[-1].section) != (block.page, block.section):
                raise ReadmeFormatError(
                    f"{block.where}: 'continue' needs an earlier {kind} block in section {block.section!r}"
                )
            previous.append(block)
            continue
        chain = [block]
        grouped.append(chain)
        last_by_language[kind] = chain
    return grouped


def env_prelude(blocks: list[Block], chain: list[Block]) -> list[Block]:
    """The ``env`` blocks of the chain's section (on its page) that come before it: they run first."""
    first = chain[0]
    return [
        b
        for b in blocks
        if b.sets_env and (b.page, b.section) == (first.page, first.section) and b.line < first.line and b not in chain
    ]
