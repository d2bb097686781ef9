# SPDX-License-Identifier: Apache-2.0
"""The docs stand alone: the module map is complete, no doc points outside the repository, and the
README links every doc."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("gateway", "models", "connectors")
ARCHITECTURE = ROOT / "docs" / "architecture.md"
# What the repository publishes as prose: the README, docs/, and the READMEs shipped in packages.
DOCS = sorted(
    [
        ROOT / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "connectors").rglob("README.md"),
        *(ROOT / "drupal-module").rglob("README.md"),
        *(ROOT / "wordpress-plugin").rglob("readme.txt"),
    ]
)
LINK = re.compile(r"\]\(([^)\s]+)\)")
# A path-like word ending in a file name with an extension docs point at, or going up with ../
CODE = re.compile(r"(?<!`)`[^`\n]+`(?!`)")  # inline code spans, not fenced blocks
FILE_MENTION = re.compile(r"(?<![\w/.-])((?:\.\./)+[\w./-]*|[\w./-]*[\w-]\.(?:md|txt|py|yaml|yml|json|php))(?![\w/-])")


def _modules() -> list[str]:
    """Every module and subpackage of the three packages, as repo paths (subpackages end in /)."""
    found = []
    for root in PACKAGES:
        for path in sorted((ROOT / root).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            rel = path.relative_to(ROOT).as_posix()
            if path.name != "__init__.py":
                found.append(rel)
            elif path.parent != ROOT / root:
                found.append(path.parent.relative_to(ROOT).as_posix() + "/")
    return found


def _mapped() -> set[str]:
    roots = "|".join(PACKAGES)
    return set(re.findall(rf"`((?:{roots})/[^`\s]*)`", ARCHITECTURE.read_text()))


def test_the_module_map_names_every_module() -> None:
    modules = _modules()
    assert len(modules) > 50, "module discovery found too little"
    missing = [m for m in modules if m not in _mapped()]
    assert not missing, f"docs/architecture.md does not map: {missing}"


def test_the_module_map_names_no_module_that_is_gone() -> None:
    gone = [m for m in sorted(_mapped()) if "*" not in m and not (ROOT / m).exists()]
    assert not gone, f"docs/architecture.md maps paths that do not exist: {gone}"


def _repo_names() -> set[str]:
    return {p.name for p in ROOT.rglob("*") if ".git" not in p.parts and ".venv" not in p.parts}


def _resolves(doc: Path, target: str, names: set[str]) -> bool:
    """A link or file mention is fine if it is a file in the repository, taken from the doc's folder
    or the repository root, or (a bare file name) the name of some file in it."""
    target = target.split("#", 1)[0].rstrip(".,;:")
    if not target:
        return True
    for base in (doc.parent, ROOT):
        path = (base / target).resolve()
        if path.is_relative_to(ROOT) and path.exists():
            return True
    return "/" not in target and target in names


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_doc_points_outside_the_repository(doc: Path) -> None:
    text = doc.read_text()
    names = _repo_names()
    bad = []
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: outside by design
            continue
        if not _resolves(doc, target, names):
            bad.append(f"link {target}")
    for mention in FILE_MENTION.findall(text):
        if mention.startswith("../") and not _resolves(doc, mention, names):
            bad.append(f"path {mention}")
    # A document named in prose (or a code block's comment) must be here; in inline code
    # (`segments.md`) it may be a file a command writes.
    for mention in FILE_MENTION.findall(CODE.sub("", text)):
        if mention.endswith(".md") and not mention.startswith("../") and not _resolves(doc, mention, names):
            bad.append(f"file {mention}")
    assert not bad, f"{doc.relative_to(ROOT)} points outside the repository: {bad}"


def test_the_checks_above_catch_an_outside_reference() -> None:
    doc = ROOT / "docs" / "x.md"
    names = _repo_names()
    assert not _resolves(doc, "../../shared/DESIGN.md", names)
    assert not _resolves(doc, "DESIGN.md", names)
    assert _resolves(doc, "configuration.md", names)
    assert _resolves(doc, "img/demo-desktop.png", names)
    assert FILE_MENTION.findall("see `../shared/DESIGN.md` and DESIGN.md.") == ["../shared/DESIGN.md", "DESIGN.md"]
    assert FILE_MENTION.findall(CODE.sub("", "writes `segments.md`, see DESIGN.md")) == ["DESIGN.md"]
    assert FILE_MENTION.findall(CODE.sub("", "```yaml\ncatalog: x  # see DESIGN.md\n```")) == ["DESIGN.md"]


def test_the_readme_links_every_doc() -> None:
    readme = ROOT / "README.md"
    linked = {(ROOT / t.split("#", 1)[0]).resolve() for t in LINK.findall(readme.read_text())}
    docs = sorted((ROOT / "docs").glob("*.md"))
    assert len(docs) >= 8
    missing = [d.relative_to(ROOT).as_posix() for d in docs if d.resolve() not in linked]
    assert not missing, f"README.md does not link {missing}"
