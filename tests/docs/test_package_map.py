"""The docs' package map (docs/contributing.md) is the one ``scripts/package_map.py`` generates from
the tree."""

from __future__ import annotations

from pathlib import Path

from doc_pages import docs_script


def test_the_docs_package_map_matches_the_tree() -> None:
    generator = docs_script("package_map")
    page = generator.map_page()
    assert generator.readme_map(page.read_text(encoding="utf-8")) == generator.package_map(), (
        f"the package map of {page.name} drifted from the tree: run `uv run python scripts/package_map.py --write`"
    )


def test_every_module_of_the_package_is_on_the_map_under_its_folder() -> None:
    generator = docs_script("package_map")
    lines = generator.package_map().splitlines()[1:-1]
    mapped: set[str] = set()
    folders: list[str] = []
    for text in lines:
        depth = (len(text) - len(text.lstrip(" "))) // 2
        name = text.split()[0]
        folders[depth:] = [name] if name.endswith("/") else []
        mapped.add("".join(folders) if name.endswith("/") else "".join(folders[:depth]) + name)
    expected = {
        str(path.parent.relative_to(generator.PACKAGE.parent)) + "/"
        if path.name == "__init__.py"
        else str(path.relative_to(generator.PACKAGE.parent))
        for path in generator.PACKAGE.rglob("*.py")
    }
    assert mapped == expected


def test_a_module_without_a_docstring_is_refused(tmp_path: Path) -> None:
    import pytest

    generator = docs_script("package_map")
    module = tmp_path / "nodoc.py"
    module.write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="needs a docstring"):
        generator.summary(module)
    documented = tmp_path / "doc.py"
    documented.write_text('"""First sentence. Second one."""\n', encoding="utf-8")
    assert generator.summary(documented) == "First sentence."
