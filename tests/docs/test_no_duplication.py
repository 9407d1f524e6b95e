"""Nothing in the README is duplicated in the docs: no README paragraph is pasted into a page.

A page that shows README text includes it (a snippet include of a README section), so the text
lives in one place. A "paragraph" is a run of non-blank lines outside code blocks (a list item or a
table row counts on its own too); one of ``MIN_WORDS`` words or more that appears verbatim
(whitespace aside) in a page's source is a duplicate.
"""

from __future__ import annotations

import re
from pathlib import Path

from doc_pages import DOCS_DIR, README

MIN_WORDS = 12


def _units(text: str) -> list[str]:
    """The paragraphs of ``text`` outside fenced code, and each list item or table row of them."""
    units: list[str] = []
    paragraph: list[str] = []
    fence = ""

    def close() -> None:
        if paragraph:
            units.append(" ".join(paragraph))
        paragraph.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if fence:
            if stripped.startswith(fence):
                fence = ""
            continue
        opening = re.match(r"(`{3,}|~{3,})", stripped)
        if opening:
            close()
            fence = opening.group(1)
            continue
        if not stripped or stripped.startswith(("#", "<!--")):
            close()
            continue
        if re.match(r"([-*+]|\d+\.|\|)\s", stripped):
            units.append(stripped)
        paragraph.append(stripped)
    close()
    return units


def _normal(text: str) -> str:
    return " ".join(text.split())


def duplicates(readme: str, pages: dict[str, str]) -> dict[str, list[str]]:
    """page -> the README paragraphs (of ``MIN_WORDS`` words or more) its source repeats."""
    paragraphs = {_normal(unit) for unit in _units(readme) if len(unit.split()) >= MIN_WORDS}
    found: dict[str, list[str]] = {}
    for name, source in pages.items():
        text = _normal(source)
        repeated = sorted(p for p in paragraphs if p in text)
        if repeated:
            found[name] = repeated
    return found


def test_no_readme_paragraph_is_pasted_into_a_page() -> None:
    pages = {str(p.relative_to(DOCS_DIR)): p.read_text(encoding="utf-8") for p in sorted(DOCS_DIR.rglob("*.md"))}
    found = duplicates(README.read_text(encoding="utf-8"), pages)
    assert not found, f"README paragraphs repeated in docs pages (include them by snippet instead): {found}"


def test_a_pasted_paragraph_or_row_is_found_and_an_include_is_not(tmp_path: Path) -> None:
    readme = (
        "# Title\n\n"
        "The registry keeps pipeline config, table config and run logs in DynamoDB tables\n"
        "for every Airflow deployment.\n\n"
        "| a | b |\n| --- | --- |\n"
        "| one row of a table that says quite a lot of words | here |\n\n"
        "Short line.\n\n"
        "```bash\n"
        "echo this code block is not a paragraph even though it has many words in it\n"
        "```\n"
    )
    pasted = (
        "Intro. The registry keeps pipeline config, table config and run logs in DynamoDB\n"
        "tables for every Airflow deployment. More.\n"
    )
    row = "| one row of a table that says quite a lot of words | here |\n"
    code = "echo this code block is not a paragraph even though it has many words in it\n"
    found = duplicates(
        readme, {"pasted.md": pasted, "row.md": row, "include.md": '--8<-- "README.md:intro"\n', "code.md": code}
    )
    assert set(found) == {"pasted.md", "row.md"}
    assert found["pasted.md"] == [
        "The registry keeps pipeline config, table config and run logs in DynamoDB tables for every Airflow deployment."
    ]
