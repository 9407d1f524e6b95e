"""Every code block of the docs (README.md and every docs/**/*.md page) runs (or, for a marked
fragment, compiles) as written, snippet includes expanded (tests/docs/readme_blocks.py).

The blocks run against the suite's DynamoDB Local: the one textual change made to a block is the
endpoint, ``http://localhost:8000`` becoming the test server's URL. Shell blocks run in a scratch
directory that links to the checkout's files (so ``uv run ...`` and ``examples/...`` work and
nothing they write lands in the checkout), with alphanumeric dummy keys and a scratch
``AIRFLOW_HOME``. Each block chain runs twice: the README's examples must survive a second run
(a Python chain twice in one interpreter, each time in a fresh namespace). A test's id names the
page and the line of its first block (``docs/how-to/sensor.md:L40-python-options``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from doc_pages import doc_files
from readme_blocks import SHELL_LANGUAGES, Block, ReadmeFormatError, chains, env_prelude, parse_blocks

REPO_ROOT = Path(__file__).resolve().parents[2]
README_ENDPOINT = "http://localhost:8000"
BLOCK_TIMEOUT_S = 300

pytestmark = pytest.mark.integration


def _pages() -> tuple[dict[str, list[Block]], dict[str, str]]:
    """page -> its blocks, and page -> why it cannot be read (a bad block, a missing include): that
    page fails ``test_every_page_is_read``, the other pages' blocks still run."""
    pages: dict[str, list[Block]] = {}
    problems: dict[str, str] = {}
    for path in doc_files():
        name = path.relative_to(REPO_ROOT).as_posix()
        try:
            blocks = parse_blocks(path)
            chains(blocks)  # a `continue` without a block to continue is refused here
        except ReadmeFormatError as exc:
            problems[name] = str(exc)
        else:
            pages[name] = blocks
    return pages, problems


#: page -> its blocks; each page is its own set of sections (a namespace never crosses pages)
PAGES, UNREADABLE = _pages()
BLOCKS = [block for blocks in PAGES.values() for block in blocks]
#: the text blocks (output samples, diagrams) are not code: nothing to run
CHAINS = [chain for blocks in PAGES.values() for chain in chains(blocks) if chain[0].language != "text"]


def _chain_id(chain: list[Block]) -> str:
    return chain[0].name + (f"+{len(chain) - 1}" if len(chain) > 1 else "")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory that looks like the checkout (links to its files) but keeps what blocks write."""
    root = tmp_path_factory.mktemp("readme-checkout")
    for entry in REPO_ROOT.iterdir():
        if entry.name in {".git", "airflow_home", ".demo"}:
            continue
        (root / entry.name).symlink_to(entry)
    return root


@pytest.fixture(scope="module")
def block_env(dynamodb_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    airflow_home = tmp_path_factory.mktemp("readme-airflow-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__", "DYNAMODB_"))}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "UV_FROZEN": "1",
            # never re-sync the shared .venv from the scratch copy (that would reinstall the project
            # from the scratch path under every other process using the environment)
            "UV_NO_SYNC": "1",
            "PIPELINE_REGISTRY_README_TEST": "1",
            "COLUMNS": "100",
        }
    )
    env["PATH"] = f"{REPO_ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VIRTUAL_ENV", None)
    return env


def _code(block: Block, endpoint: str) -> str:
    return block.code.replace(README_ENDPOINT, endpoint)


#: runs the chain ``RUNS`` times, each in a fresh ``__main__`` namespace of one interpreter: what
#: a second run must survive is the state the first left in DynamoDB and on disk (the modules the
#: first run imported are only not imported again)
_PYTHON_RUNNER = """
import json, sys
blocks = json.load(sys.stdin)
for _ in range({runs}):
    namespace = {{"__name__": "__main__"}}
    for source, line, code in blocks:
        # pad so that tracebacks show the page's (or the included file's) line numbers
        exec(compile("\\n" * line + code, source, "exec"), namespace)
"""
#: every example must survive being run a second time
RUNS = 2


def _run(args: list[str], *, stdin: str | None, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, input=stdin, env=env, cwd=cwd, capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S, check=False
    )


def _explain(chain: list[Block], result: subprocess.CompletedProcess[str]) -> str:
    where = ", ".join(b.where for b in chain)
    return f"block(s) at {where} exited {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def _execute(chain: list[Block], endpoint: str, env: dict[str, str], cwd: Path) -> None:
    first = chain[0]
    # the section's `env` blocks (export ...) run first, in the same shell
    prelude = "set -euo pipefail\n" + "".join(_code(b, endpoint) for b in env_prelude(PAGES[first.page], chain))
    if first.language == "python":
        payload = json.dumps([(*b.source, _code(b, endpoint)) for b in chain])
        script = prelude + '\nexec "$0" -c "$1"\n'
        runner = _PYTHON_RUNNER.format(runs=RUNS)
        result = _run(["bash", "-c", script, sys.executable, runner], stdin=payload, env=env, cwd=cwd)
        assert result.returncode == 0, _explain(chain, result)
        return
    script = prelude + "\n".join(_code(b, endpoint) for b in chain)
    for _ in range(RUNS):
        result = _run(["bash", "-c", script], stdin=None, env=env, cwd=cwd)
        assert result.returncode == 0, _explain(chain, result)


def _compile(chain: list[Block], cwd: Path) -> None:
    for block in chain:
        if block.language == "python":
            source, line = block.source
            compile("\n" * line + block.code, source, "exec")
        elif block.language in SHELL_LANGUAGES:
            result = subprocess.run(["bash", "-n"], input=block.code, capture_output=True, text=True, check=False)
            assert result.returncode == 0, f"{block.where}: {result.stderr}"


@pytest.mark.parametrize("chain", CHAINS, ids=_chain_id)
def test_readme_block(chain: list[Block], dynamodb_endpoint: str, block_env: dict[str, str], scratch: Path) -> None:
    first = chain[0]
    if first.language == "yaml":
        assert yaml.safe_load(first.code) is not None, f"{first.where}: empty YAML"
        return
    if first.language == "json":
        json.loads(first.code)
        return
    if any(b.fragment for b in chain):
        _compile(chain, scratch)
        return
    _execute(chain, dynamodb_endpoint, block_env, scratch)


def test_every_block_is_classified() -> None:
    """No code block is silently left out: each one is one of the chains above."""
    blocks = BLOCKS
    text = [b for b in blocks if b.language == "text"]
    assert sum(len(c) for c in CHAINS) + len(text) == len(blocks)
    # the generated reference pages show usage texts: the written pages are where code must run
    written = [b for b in blocks if not b.page.startswith("docs/reference/")]
    written_text = [b for b in written if b.language == "text"]
    assert len(written_text) < len(written) / 2, "most blocks marked text: are they really not code?"


def test_every_page_is_read() -> None:
    """Every page's blocks can be classified and its snippet includes name existing files and sections."""
    assert not UNREADABLE, UNREADABLE
