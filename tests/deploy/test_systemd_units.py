"""The shipped systemd units pass `systemd-analyze verify`."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.shipped import INSTALL_DIR, UNITS

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.fixture
def units(tmp_path):
    """The units, copied with INSTALL_DIR pointing at a checkout whose
    .venv holds this interpreter and its daphne: verify checks that each
    ExecStart is an executable file."""
    if SYSTEMD_ANALYZE is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing: CI must have it", pytrace=False)
        pytest.skip("SKIPPED, needs systemd-analyze (package systemd)")
    checkout = tmp_path / "checkout"
    venv_bin = checkout / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to(sys.executable)
    (venv_bin / "daphne").symlink_to(Path(sys.executable).parent / "daphne")
    rendered = tmp_path / "units"
    rendered.mkdir()
    for unit in UNITS.iterdir():
        text = unit.read_text()
        assert INSTALL_DIR in text or unit.suffix == ".timer", unit.name
        (rendered / unit.name).write_text(text.replace(INSTALL_DIR, str(checkout)))
    return rendered


def test_every_unit_verifies(units):
    """The template is verified through two instances, found beside it."""
    names = [
        "trading-monitor-daphne@8001.service",
        "trading-monitor-daphne@8002.service",
        "trading-monitor-coordinator.service",
    ]
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", *(str(units / name) for name in names)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
