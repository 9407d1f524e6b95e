"""Extract the fenced code blocks of README.md and say how the suite runs each one.

A block's language decides how it runs:

* ``python``: executed; consecutive python blocks of one ``## `` section share a namespace when
  the later one is marked ``<!-- readme-test: continue -->``;
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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+)(?P<info>[^`]*)$")
DIRECTIVE = re.compile(r"^\s*<!--\s*readme-test:\s*(?P<words>[a-z -]+?)\s*-->\s*$")
SHELL_LANGUAGES = frozenset({"bash", "sh", "shell"})
KNOWN_LANGUAGES = frozenset({"python", "yaml", "json", "text"}) | SHELL_LANGUAGES
DIRECTIVES = frozenset({"fragment", "continue", "env"})
HTML_COMMENT = re.compile(r"^\s*<!--.*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its code and the directives above it."""

    line: int  # 1-based line of the opening fence
    section: str  # the nearest "## " heading above it
    language: str
    code: str
    directives: frozenset[str]

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
        return f"L{self.line}-{self.language}-{slug}"


class ReadmeFormatError(ValueError):
    """The README has a block the suite cannot classify (no language, unknown directive...)."""


def parse_blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path`` in document order."""
    lines = path.read_text(encoding="utf-8").splitlines()
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
            raise ReadmeFormatError(f"README.md:{start + 1}: code block never closed")
        index += 1
        if not language:
            raise ReadmeFormatError(f"README.md:{start + 1}: a code block needs a language (```python, ```text...)")
        if language not in KNOWN_LANGUAGES:
            raise ReadmeFormatError(f"README.md:{start + 1}: unknown block language {language!r}")
        directives = _directives_above(lines, start)
        if "env" in directives and language not in SHELL_LANGUAGES:
            raise ReadmeFormatError(f"README.md:{start + 1}: 'env' is for shell blocks (export ...)")
        blocks.append(Block(start + 1, section, language, "\n".join(body) + "\n", directives))
    return blocks


def _directives_above(lines: list[str], fence_index: int) -> frozenset[str]:
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
                raise ReadmeFormatError(f"README.md:{above + 1}: unknown readme-test directive {word!r}")
            words.add(word)
        above -= 1
    return frozenset(words)


def chains(blocks: list[Block]) -> list[list[Block]]:
    """Runnable blocks grouped so that a ``continue`` block runs after the block it continues."""
    grouped: list[list[Block]] = []
    last_by_language: dict[str, list[Block]] = {}
    for block in blocks:
        kind = "shell" if block.language in SHELL_LANGUAGES else block.language
        if block.continues:
            previous = last_by_language.get(kind)
            if previous is None or previous[-1].section != block.section:
                raise ReadmeFormatError(
                    f"README.md:{block.line}: 'continue' needs an earlier {kind} block in section {block.section!r}"
                )
            previous.append(block)
            continue
        chain = [block]
        grouped.append(chain)
        last_by_language[kind] = chain
    return grouped


def env_prelude(blocks: list[Block], chain: list[Block]) -> list[Block]:
    """The ``env`` blocks of the chain's section that come before it: they run first."""
    first = chain[0]
    return [b for b in blocks if b.sets_env and b.section == first.section and b.line < first.line and b not in chain]
