"""The layers hold: the import contract in .importlinter (lint-imports), pages importing only ui and lib, lib.text
importing nothing from lib."""
import ast
import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"app", "bench", "lib", "pages", "scripts", "tests", "ui"}   # the repository's own top-level names


def lint_imports(*args: str) -> subprocess.CompletedProcess:
    tool = Path(sys.executable).parent / "lint-imports"
    command = str(tool) if tool.exists() else shutil.which("lint-imports")
    assert command, "lint-imports is not installed (requirements-dev.txt: import-linter)"
    return subprocess.run([command, "--no-cache", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def imported(source: str, package: str = "") -> set[str]:
    """Every module a source imports, at the top or inside a function; relative imports resolved in `package`."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                names.add(".".join(base + ([node.module] if node.module else [])))
            else:
                names.add(node.module)
    return names


def test_the_import_contract_holds():
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_package_of_lib_has_its_layer():
    # a package the layers do not name is bound by nothing: a new one must be given its place
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    layers = config["importlinter:contract:layers"]["layers"].split()
    named = {name for name in layers if name not in ("|", ":")}
    packages = {f"lib.{p.parent.name}" for p in (ROOT / "lib").glob("*/__init__.py")}
    assert packages <= named, sorted(packages - named)
    assert {"pages", "ui"} <= named


def test_the_contract_sees_imports_inside_functions(tmp_path):
    # lib.serve.jobs imports lib.tutorial.stages only inside a function: a contract forbidding it must break
    config = tmp_path / "contract.ini"
    config.write_text("[importlinter]\nroot_packages =\n    lib\n\n[importlinter:contract:probe]\nname = probe\n"
                      "type = forbidden\nsource_modules =\n    lib.serve.jobs\nforbidden_modules =\n"
                      "    lib.tutorial.stages\n")
    result = lint_imports("--config", str(config))
    assert result.returncode != 0 and "lib.serve.jobs -> lib.tutorial.stages" in result.stdout, result.stdout


def test_the_walk_finds_every_kind_of_import():
    source = "import lib.x\nfrom ui import y\ndef f():\n    from bench.load import z\n    from . import w\n"
    assert imported(source, "pages") == {"lib.x", "ui", "bench.load", "pages"}


@pytest.mark.parametrize("page", sorted(p.name for p in (ROOT / "pages").glob("*.py")))
def test_a_page_imports_only_ui_and_lib(page):
    ours = {name for name in imported((ROOT / "pages" / page).read_text(), "pages")
            if name.split(".")[0] in PROJECT}
    assert all(name.split(".")[0] in {"ui", "lib"} for name in ours), sorted(ours)


def test_lib_text_imports_nothing_from_lib():
    files = sorted((ROOT / "lib" / "text").glob("*.py"))
    assert files
    for path in files:
        names = imported(path.read_text(), "lib.text")
        assert not [n for n in names if (n == "lib" or n.startswith("lib.")) and not n.startswith("lib.text")], path


def test_the_app_uses_only_streamlit_s_public_api():
    # `import streamlit as st` and its documented modules; streamlit.runtime and the like are Streamlit's insides,
    # which change between releases (issue 23). Only tests may reach further, each one saying why.
    public = {"streamlit", "streamlit.components.v1", "streamlit.testing.v1"}
    sources = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").rglob("*.py")),
               *sorted((ROOT / "lib").rglob("*.py"))]
    private = {str(path.relative_to(ROOT)): sorted(n for n in imported(path.read_text())
                                                   if n.split(".")[0] == "streamlit" and n not in public)
               for path in sources}
    assert {path: names for path, names in private.items() if names} == {}
    probe = imported("from streamlit.runtime.scriptrunner import get_script_run_ctx\nimport streamlit as st\n")
    assert probe == {"streamlit.runtime.scriptrunner", "streamlit"}   # the walk sees the kind it must refuse
