"""The PyTorch-oracle switch: without torch an oracle test skips, unless LAYERNET_REQUIRE_TORCH=1
(set by .ci/run), where it fails; and .ci/run sets it before the README's test command."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REQUIRE_TORCH, require_torch

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

ORACLE_TEST = """\
from conftest import require_torch


def test_oracle():
    torch = require_torch()
    assert torch.tensor([2.0]).item() == 2.0
"""


def _run_oracle_test(tmp_path, *, require: bool, block_torch: bool):
    """Run ORACLE_TEST in a fresh pytest process; ``(exit code, output)``."""
    (tmp_path / "test_oracle.py").write_text(ORACLE_TEST)
    path = [str(TESTS)]
    if block_torch:  # a package named torch that fails to import shadows the real one
        (tmp_path / "blocked" / "torch").mkdir(parents=True)
        (tmp_path / "blocked" / "torch" / "__init__.py").write_text(
            'raise ModuleNotFoundError("No module named \'torch\' (blocked by the test)", name="torch")\n')
        path.insert(0, str(tmp_path / "blocked"))
    env = {key: value for key, value in os.environ.items() if key != REQUIRE_TORCH}
    env["PYTHONPATH"] = os.pathsep.join(path)
    if require:
        env[REQUIRE_TORCH] = "1"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "test_oracle.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "require, block_torch, code, needle",
    [
        (False, True, 0, "1 skipped"),                # a developer without torch: skipped
        (True, True, 1, f"{REQUIRE_TORCH}=1 but torch cannot be imported"),  # CI without torch: failed
        (True, False, 0, "1 passed"),                 # CI with torch: the oracle runs
    ],
    ids=["no-torch-skips", "required-and-missing-fails", "required-and-present-runs"],
)
def test_missing_torch_fails_only_when_required(tmp_path, require, block_torch, code, needle):
    if not block_torch:
        require_torch()  # this case needs the real torch; the other two never import it
    got, output = _run_oracle_test(tmp_path, require=require, block_torch=block_torch)
    assert got == code and needle in output, output


def test_ci_requires_torch_before_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text()
    command = "MPLBACKEND=agg python -m pytest -q tests notebooks --nbmake"
    assert command in readme
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in lines, "the README's test command must stay in .ci/run exactly"
    assert f"export {REQUIRE_TORCH}=1" in lines[: lines.index(command)]
