"""A griffe extension for the API reference (docs/reference/api.md): Sphinx roles as code.

The package's docstrings are written for Sphinx (``:class:`~.config.DynamoDBConfig```); mkdocstrings
shows Markdown, where the role would stay as text (``:class:`` then the name). This extension
rewrites each role to a code span of the name as Sphinx would show it (``~`` keeps the last part;
a leading ``.`` is dropped), before the docstring is parsed. Loaded by mkdocs.yml
(``plugins.mkdocstrings.handlers.python.options.extensions``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj|const|ref|term):`(?P<target>[^`]+)`")


def shown(target: str) -> str:
    """What Sphinx shows for a role's target: ``~a.b.C`` -> ``C``, ``.b.C`` -> ``b.C``, ``t <x>`` -> ``t``."""
    explicit = re.fullmatch(r"(?P<title>.+?)\s*<[^>]+>", target)
    if explicit:
        return explicit["title"]
    if target.startswith("~"):
        return target.lstrip("~.").rsplit(".", 1)[-1]
    return target.lstrip(".")


def rewrite(text: str) -> str:
    """``text`` with every Sphinx role replaced by a code span."""
    return ROLE.sub(lambda match: f"`{shown(match['target'])}`", text)


class SphinxRoles(griffe.Extension):
    """Rewrites the Sphinx roles of every docstring griffe reads."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
