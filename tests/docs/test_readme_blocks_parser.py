"""The README block parser: directives, other tools' markers, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from readme_blocks import ReadmeFormatError, chains, env_prelude, parse_blocks

README = """\
## Set-up

<!-- readme-test: env -->
```bash
export GREETING=hello
```

<!-- readme-test: fragment -->
<!-- ui-api-example:bash -->
```bash
curl http://localhost:8080
```

```python
import os
print(os.environ["GREETING"])
```

## Other

```python
print("other")
```
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "README.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_directive_above_another_marker_applies(tmp_path: Path) -> None:
    blocks = parse_blocks(_write(tmp_path, README))
    assert [sorted(b.directives) for b in blocks] == [["env"], ["fragment"], [], []]


def test_env_blocks_run_before_the_later_blocks_of_their_section_only(tmp_path: Path) -> None:
    blocks = parse_blocks(_write(tmp_path, README))
    setup_env, _, python_setup, python_other = blocks
    grouped = chains(blocks)
    assert env_prelude(blocks, [python_setup]) == [setup_env]
    assert env_prelude(blocks, [python_other]) == []
    assert env_prelude(blocks, grouped[0]) == []  # not before itself


def test_env_on_a_python_block_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReadmeFormatError, match="'env' is for shell blocks"):
        parse_blocks(_write(tmp_path, "<!-- readme-test: env -->\n```python\nx = 1\n```\n"))


def test_unknown_directive_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReadmeFormatError, match="unknown readme-test directive 'skip'"):
        parse_blocks(_write(tmp_path, "<!-- readme-test: skip -->\n```python\nx = 1\n```\n"))


def test_a_page_block_names_its_page_and_continues_only_on_its_page(tmp_path: Path) -> None:
    page = tmp_path / "docs" / "how-to" / "page.md"
    page.parent.mkdir(parents=True)
    page.write_text("# Page\n\n## Use\n\n```python\nx = 1\n```\n", encoding="utf-8")
    [block] = parse_blocks(page, root=tmp_path)
    assert block.page == "docs/how-to/page.md"
    assert block.name == "docs/how-to/page.md:L5-python-use"
    assert block.where == "docs/how-to/page.md:5"
    other = tmp_path / "docs" / "other.md"
    other.write_text("## Use\n\n<!-- readme-test: continue -->\n```python\nprint(x)\n```\n", encoding="utf-8")
    # the same section title on another page is another namespace: nothing to continue there
    with pytest.raises(ReadmeFormatError, match=r"docs/other.md:4: 'continue' needs an earlier python block"):
        chains([block, *parse_blocks(other, root=tmp_path)])


SOURCE = """\
import os

# --8<-- [start:body]
value = 1
# --8<-- [start:inner]
value += 1
# --8<-- [end:inner]
# --8<-- [end:body]
"""


def _page_with(tmp_path: Path, include: str) -> Path:
    (tmp_path / "examples").mkdir(exist_ok=True)
    (tmp_path / "examples" / "job.py").write_text(SOURCE, encoding="utf-8")
    page = tmp_path / "docs" / "page.md"
    page.parent.mkdir(exist_ok=True)
    page.write_text(f'## Example\n\n```python\n--8<-- "{include}"\n```\n', encoding="utf-8")
    return page


def test_a_whole_file_include_is_the_file(tmp_path: Path) -> None:
    [block] = parse_blocks(_page_with(tmp_path, "examples/job.py"), root=tmp_path)
    # marker lines are not shown (MkDocs strips them): blanked, so line numbers still match the file
    assert block.code == SOURCE.replace("# --8<-- [start:body]", "").replace("# --8<-- [end:body]", "").replace(
        "# --8<-- [start:inner]", ""
    ).replace("# --8<-- [end:inner]", "")
    assert block.source == ("examples/job.py", 0)
    assert block.where == "docs/page.md:3"


def test_a_section_include_is_the_lines_between_its_markers(tmp_path: Path) -> None:
    [block] = parse_blocks(_page_with(tmp_path, "examples/job.py:body"), root=tmp_path)
    assert block.code == "value = 1\n\nvalue += 1\n\n"
    assert block.source == ("examples/job.py", 3)  # the code's first line is line 4 of the file
    [inner] = parse_blocks(_page_with(tmp_path, "examples/job.py:inner"), root=tmp_path)
    assert inner.code == "value += 1\n"


def test_an_include_of_a_missing_file_or_section_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReadmeFormatError, match=r"docs/page.md:3: the snippet include 'examples/gone.py' names"):
        parse_blocks(_page_with(tmp_path, "examples/gone.py"), root=tmp_path)
    with pytest.raises(ReadmeFormatError, match=r"needs one \[start:nope\] and one \[end:nope\] marker"):
        parse_blocks(_page_with(tmp_path, "examples/job.py:nope"), root=tmp_path)


def test_an_include_line_shares_its_block_with_nothing(tmp_path: Path) -> None:
    page = _page_with(tmp_path, "examples/job.py")
    page.write_text('```python\n--8<-- "examples/job.py"\nx = 1\n```\n', encoding="utf-8")
    with pytest.raises(ReadmeFormatError, match="holds that one line only"):
        parse_blocks(page, root=tmp_path)
