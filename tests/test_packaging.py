"""A wheel install works like the editable one: the SQL views travel inside the package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pipeline.errors import FatalError
from pipeline.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_carries_every_view_definition(tmp_path):
    source = tmp_path / "source"  # built from a copy: the build leaves build/ behind
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("pipeline", "sql"):
        shutil.copytree(
            ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    sql = sorted((ROOT / "sql").rglob("*.sql"))
    assert any(path.parent.name == "views" for path in sql)
    for path in sql:
        assert f"pipeline/sql/{path.relative_to(ROOT / 'sql')}" in names
    packages = {path.parent for path in (ROOT / "pipeline").rglob("*.py")}
    for package in packages:
        assert f"{package.relative_to(ROOT)}/__init__.py" in names  # no subpackage left out


def test_missing_view_definitions_stop_the_run_with_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr("pipeline.warehouse.SQL_DIRS", (tmp_path / "nowhere",))
    warehouse = Warehouse(tmp_path / "out")
    warehouse.open()
    try:
        with pytest.raises(FatalError, match="reinstall devin-export"):
            warehouse.create_views()
    finally:
        warehouse.close()


def test_make_clean_never_deletes_the_raw_files():
    # data/raw is the source of truth every warehouse is rebuilt from (README, data/README.md).
    done = subprocess.run(["make", "-n", "clean"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    words = done.stdout.split()
    assert "data/raw" not in words and "data" not in words and "data/" not in words
    assert "data/demo" in words  # what is rebuildable goes
