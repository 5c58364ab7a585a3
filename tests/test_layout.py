"""The house rules a reader relies on, checked: short files, lines that fit a screen, and data
flowing one way (the core never imports the command line or the web app)."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "digitnet"
MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_is_short_and_its_lines_fit(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300, f"{path.name}: {len(lines)} lines; split it by concept"
    long = [i + 1 for i, line in enumerate(lines) if len(line) > 120]
    assert not long, f"{path.name}: lines over 120 characters: {long}"


CORE = [p for p in MODULES if p.parent.name not in ("cli", "web") and p.name != "__main__.py"]


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_core_never_imports_the_command_line_or_the_web_app(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else [f"digitnet.{node.module or ''}"]  # from ..cli
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            assert not name.startswith(("digitnet.cli", "digitnet.web")), f"{path.name} imports {name}"
