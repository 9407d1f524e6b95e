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
