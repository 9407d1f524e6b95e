"""CHANGELOG.md follows Keep a Changelog, states the version bump policy, and its newest release is
the version pyproject.toml declares; the docs show it (docs/changelog.md includes it)."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHANGELOG = REPO / "CHANGELOG.md"
#: Keep a Changelog's types of change, in its order
TYPES = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")
RELEASE = re.compile(r"^## \[(?P<version>\d+\.\d+\.\d+)\] - (?P<date>\d{4}-\d{2}-\d{2})$")
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


def _structure(text: str) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """[(release heading, [(type, its lines)])] in order; the header's ``##`` sections included."""
    releases: list[tuple[str, list[tuple[str, list[str]]]]] = []
    for line in text.splitlines():
        if line.startswith("## "):
            releases.append((line[3:], []))
        elif line.startswith("### "):
            assert releases, f"{line!r} before any release"
            releases[-1][1].append((line[4:], []))
        elif releases and releases[-1][1]:
            releases[-1][1][-1][1].append(line)
    return releases


def check(text: str, version: str) -> list[str]:
    """What is wrong with ``text`` as this project's changelog (empty: nothing)."""
    problems: list[str] = []
    if not text.startswith("# Changelog\n"):
        problems.append("the first line is not '# Changelog'")
    for name in ("keepachangelog.com", "semver.org"):
        if name not in text:
            problems.append(f"the header does not link {name}")
    sections = _structure(text)
    headings = [heading for heading, _ in sections]
    if "Version bump policy" not in headings:
        problems.append("no '## Version bump policy' section")
    else:
        policy = text.split("\n## Version bump policy\n", 1)[1].split("\n## ", 1)[0]
        problems += [
            f"the policy does not say what a {kind} release is"
            for kind in ("Major", "Minor", "Patch")
            if f"**{kind}**" not in policy
        ]
    entries = [s for s in sections if s[0].startswith("[")]
    if not entries or entries[0][0] != "[Unreleased]":
        problems.append("the first entry is not '## [Unreleased]'")
    releases = entries[1:]
    if not releases:
        problems.append("no release listed")
    dates: list[date] = []
    versions: list[tuple[int, ...]] = []
    for heading, types in entries:
        if heading != "[Unreleased]":
            match = RELEASE.match(f"## {heading}")
            if match is None:
                problems.append(f"'## {heading}' is not '## [X.Y.Z] - YYYY-MM-DD'")
                continue
            dates.append(date.fromisoformat(match["date"]))
            versions.append(tuple(int(part) for part in match["version"].split(".")))
        names = [name for name, _ in types]
        problems += [f"{heading}: '### {name}' is not a Keep a Changelog type" for name in names if name not in TYPES]
        if len(set(names)) != len(names):
            problems.append(f"{heading}: a type of change is listed twice ({names})")
        for name, lines in types:
            if not any(line.startswith("- ") for line in lines):
                problems.append(f"{heading}: '### {name}' lists nothing")
    if versions != sorted(versions, reverse=True) or len(set(versions)) != len(versions):
        problems.append("the releases are not newest first")
    if dates != sorted(dates, reverse=True):
        problems.append("the release dates are not newest first")
    if releases and RELEASE.match(f"## {releases[0][0]}") and not releases[0][0].startswith(f"[{version}]"):
        problems.append(f"the newest release is {releases[0][0]!r}, pyproject.toml says {version}")
    return problems


def _version() -> str:
    version = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert SEMVER.match(version), version
    return str(version)


def test_the_changelog_follows_keep_a_changelog() -> None:
    assert check(CHANGELOG.read_text(encoding="utf-8"), _version()) == []


def test_the_docs_show_the_changelog_by_include() -> None:
    assert (REPO / "docs" / "changelog.md").read_text(encoding="utf-8").strip() == '--8<-- "CHANGELOG.md"'


GOOD = """\
# Changelog

Follows keepachangelog.com and semver.org.

## Version bump policy

- **Major**: breaks. - **Minor**: adds. - **Patch**: fixes.

## [Unreleased]

### Added
- a thing

## [0.2.0] - 2026-12-06

### Fixed
- a bug

## [0.1.0] - 2026-12-05

### Added
- the first version
"""


def test_the_check_refuses_what_keep_a_changelog_does_not_allow() -> None:
    assert check(GOOD, "0.2.0") == []
    assert check(GOOD, "0.3.0") == ["the newest release is '[0.2.0] - 2026-12-06', pyproject.toml says 0.3.0"]
    assert check(GOOD.replace("### Fixed", "### Renamed"), "0.2.0") == [
        "[0.2.0] - 2026-12-06: '### Renamed' is not a Keep a Changelog type"
    ]
    assert check(GOOD.replace("### Fixed\n- a bug", "### Added\n- a\n\n### Added\n- b"), "0.2.0") == [
        "[0.2.0] - 2026-12-06: a type of change is listed twice (['Added', 'Added'])"
    ]
    swapped = GOOD.replace("[0.2.0] - 2026-12-06", "[0.0.9] - 2026-12-06")
    assert "the releases are not newest first" in check(swapped, "0.0.9")
    assert "the first entry is not '## [Unreleased]'" in check(
        GOOD.replace("## [Unreleased]\n\n### Added\n- a thing\n\n", ""), "0.2.0"
    )
    assert "'## [0.2.0] 2026-12-06' is not '## [X.Y.Z] - YYYY-MM-DD'" in check(
        GOOD.replace("[0.2.0] - ", "[0.2.0] "), "0.2.0"
    )
    assert "the policy does not say what a Patch release is" in check(GOOD.replace("**Patch**", "Patch"), "0.2.0")
