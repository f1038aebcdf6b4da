"""A wheel built from the repository works outside the checkout (configs ship inside the package)."""

from __future__ import annotations

import json
import site
import subprocess
import sys
import venv
from pathlib import Path

from tests.helpers import ROOT, TINY


def test_wheel_in_a_fresh_venv_trains_from_another_directory(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path / "dist"), str(ROOT)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("visage-*.whl")
    env_dir = tmp_path / "fresh"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    # Dependencies come from this interpreter's site-packages (a plain path: its editable visage finder
    # is not activated); visage itself only from the wheel.
    fresh_site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                     check=True, capture_output=True, text=True).stdout.strip())
    (fresh_site / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([str(python), "-c", "import visage; print(visage.__file__)"], cwd=elsewhere,
                           check=True, capture_output=True, text=True).stdout
    assert str(fresh_site) in where, where
    done = subprocess.run([str(python), "-m", "visage.train", *TINY, "paths.experiments_dir=exp"], cwd=elsewhere,
                          capture_output=True, text=True, timeout=600, env={"WANDB_MODE": "offline", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = (elsewhere / "exp" / "runs").iterdir()
    assert json.loads((run / "metrics.json").read_text())["test"]["n"] > 0
