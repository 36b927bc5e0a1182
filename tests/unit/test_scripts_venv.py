"""scripts/lib/venv.sh, shared by scripts/test and scripts/serve: one install serves both, a
too-old Python is refused before a virtualenv is made, and a broken .venv is made again.

Runs the shell functions in a scratch directory with stand-in interpreters and pip (shell
scripts that log what they are asked), so nothing is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.harness import REPO

LIB = REPO / "scripts" / "lib" / "venv.sh"


def fake_python(path: Path, version: str, log: Path) -> Path:
    """A stand-in interpreter: answers the version check as `version`; `-m venv DIR` makes a
    .venv of stand-ins (a python of the same version, a pip and a bai that log their calls)."""
    major, minor = (int(x) for x in version.split(".")[:2])
    ok = 0 if (major, minor) >= (3, 11) else 1
    path.write_text(
        f"""#!/bin/sh
echo "$0 $*" >> {log}
case "$*" in
  *platform*) echo {version}; exit 0 ;;
  *version_info*) exit {ok} ;;
  "-m venv "*)
    d="$3"; mkdir -p "$d/bin"
    cp "$0" "$d/bin/python"
    printf '#!/bin/sh\\necho "pip $*" >> {log}\\n' > "$d/bin/pip"
    printf '#!/bin/sh\\nexit 0\\n' > "$d/bin/bai"
    chmod +x "$d/bin/pip" "$d/bin/bai"
    exit 0 ;;
esac
exit 0
"""
    )
    path.chmod(0o755)
    return path


TOOLS = ("rm", "cp", "mkdir", "chmod", "basename", "touch", "grep", "cat", "printf")


def sh(cwd: Path, script: str, python: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `script` after sourcing the library; PATH holds only the stand-ins and a few tools
    (so no real python3.X of this machine is found)."""
    tools = cwd / "tools"
    if not tools.exists():
        tools.mkdir()
        for name in TOOLS:
            found = shutil.which(name)
            if found:
                (tools / name).symlink_to(found)
    env = {k: v for k, v in os.environ.items() if k != "PYTHON"}
    env["PATH"] = f"{cwd / 'bin'}:{tools}"
    if python is not None:
        env["PYTHON"] = str(python)
    bash = shutil.which("bash") or "/bin/bash"
    return subprocess.run(
        [bash, "-c", f"set -euo pipefail; BAI_PROG=t; source {LIB}; {script}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def project(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "bin").mkdir()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    return tmp_path, tmp_path / "calls.log"


def test_too_old_python_is_refused_before_any_venv(tmp_path: Path) -> None:
    cwd, log = project(tmp_path)
    old = fake_python(cwd / "bin" / "python3", "3.10.12", log)
    res = sh(cwd, "bai_install runtime")
    assert res.returncode != 0
    assert "needs Python >= 3.11" in res.stderr and "3.10.12" in res.stderr
    assert not (cwd / ".venv").exists()
    res = sh(cwd, "bai_install runtime", python=old)
    assert res.returncode != 0 and "PYTHON=" in res.stderr
    assert not (cwd / ".venv").exists()


def test_a_broken_or_old_venv_is_made_again(tmp_path: Path) -> None:
    cwd, log = project(tmp_path)
    good = fake_python(cwd / "bin" / "python3.12", "3.12.1", log)
    # What an earlier run with Python 3.10 left: a venv whose python is too old.
    fake_python(cwd / "bin" / "python3", "3.10.12", log)
    sh(cwd, "python3 -m venv .venv")
    res = sh(cwd, "bai_install runtime", python=good)
    assert res.returncode == 0, res.stderr
    assert "making it again" in res.stderr
    assert (cwd / ".venv" / ".bai-installed").exists()
    assert "pip install -q -e ." in log.read_text()
    # A venv whose python no longer runs (its interpreter was removed).
    (cwd / ".venv" / "bin" / "python").write_text("#!/bin/sh\nexit 127\n")
    res = sh(cwd, "bai_install runtime", python=good)
    assert res.returncode == 0 and "making it again" in res.stderr


def test_one_install_serves_both_scripts(tmp_path: Path) -> None:
    cwd, log = project(tmp_path)
    good = fake_python(cwd / "bin" / "python3", "3.12.1", log)
    assert sh(cwd, "bai_install test", python=good).returncode == 0
    assert "pip install -q -e .[test]" in log.read_text()
    log.write_text("")
    # What scripts/serve asks next: nothing to install, no pip run.
    res = sh(cwd, "bai_needs_install runtime && echo NEEDED || echo FRESH; bai_install runtime")
    assert res.returncode == 0 and "FRESH" in res.stdout
    assert "pip" not in log.read_text()
    # A change to pyproject.toml makes both install again.
    time.sleep(0.01)
    (cwd / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '2'\n")
    os.utime(cwd / "pyproject.toml", (time.time() + 5, time.time() + 5))
    res = sh(cwd, "bai_needs_install runtime && echo NEEDED; bai_needs_install test && echo T")
    assert "NEEDED" in res.stdout and "T" in res.stdout


def test_the_scripts_use_the_shared_install() -> None:
    for script, kind in (("test", "test"), ("serve", "runtime")):
        text = (REPO / "scripts" / script).read_text()
        assert "source scripts/lib/venv.sh" in text and f"bai_install {kind}" in text
