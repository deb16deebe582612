"""The fake API is a package: every part of it ships in the wheel, and its public names hold."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pipeline.fake_api

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_of_pipeline_is_listed_for_the_wheel():
    # setuptools ships only the packages listed: a missing one breaks --demo in a wheel install
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "pipeline").rglob("__init__.py")
    }
    assert found <= listed


def test_public_names():
    for name in ("FakeApiServer", "FakeDevin", "Faults", "FAULT_KINDS", "main", "parse_time"):
        assert hasattr(pipeline.fake_api, name), name
