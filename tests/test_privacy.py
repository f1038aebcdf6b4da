"""Nothing leaves the machine by default: no outgoing connection during training, wherever visage is called from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, TINY
from visage.core.privacy import PRIVATE_DEFAULTS, set_private_defaults

# Records every attempt to reach another machine (name lookups included) and refuses it. Loopback and
# Unix sockets (W&B's local service, loader workers) are allowed.
TRAP = '''
import json, socket
ATTEMPTS = []
LOCAL = ("127.", "::1", "localhost", "0.0.0.0")

def _remote(address):
    host = address[0] if isinstance(address, tuple) else None
    return isinstance(host, str) and host != "" and not host.startswith(LOCAL)

def _refuse(what, address):
    ATTEMPTS.append(f"{what} {address}")
    raise OSError(f"outgoing connection trapped by the test: {address}")

_connect, _connect_ex, _create, _getaddrinfo = (socket.socket.connect, socket.socket.connect_ex,
                                                socket.create_connection, socket.getaddrinfo)

def connect(self, address):
    return _refuse("connect", address) if _remote(address) else _connect(self, address)

def connect_ex(self, address):
    return _refuse("connect_ex", address) if _remote(address) else _connect_ex(self, address)

def create_connection(address, *args, **kwargs):
    return _refuse("create_connection", address) if _remote(address) else _create(address, *args, **kwargs)

def getaddrinfo(host, *args, **kwargs):
    return _refuse("getaddrinfo", host) if _remote((host,)) else _getaddrinfo(host, *args, **kwargs)

socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
socket.create_connection, socket.getaddrinfo = create_connection, getaddrinfo
'''

TRAINING = '''
import os
from hydra import compose, initialize_config_dir
from omegaconf import open_dict
from visage.runner.cli import CONFIG_DIR
from visage.train import train
with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
    cfg = compose(config_name="train", overrides={overrides!r})
with open_dict(cfg):
    cfg.paths.output_dir = {output_dir!r}
metrics, _ = train(cfg)
print("RESULT", json.dumps({{"attempts": ATTEMPTS, "env": {{k: os.environ.get(k) for k in {keys!r}}},
                            "objective": metrics["objective"]}}))
'''


def run_trapped(code: str, tmp_path: Path) -> dict:
    """Run `TRAP + code` in a fresh interpreter whose environment holds none of the private defaults."""
    env = {k: v for k, v in os.environ.items() if k not in PRIVATE_DEFAULTS}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", TRAP + code], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    return json.loads(line.removeprefix("RESULT "))


def test_smoke_training_from_python_attempts_no_outgoing_connection(tmp_path: Path) -> None:
    overrides = [*TINY, "evaluation.fairness.n_boot=20", "evaluation.fairness.n_perm=20",
                 f"paths.experiments_dir={tmp_path / 'exp'}"]
    code = TRAINING.format(overrides=overrides, output_dir=str(tmp_path / "run"), keys=sorted(PRIVATE_DEFAULTS))
    result = run_trapped(code, tmp_path)
    assert result["attempts"] == []
    assert result["env"] == PRIVATE_DEFAULTS  # set by `import visage`, not by the command line
    assert result["objective"] == result["objective"]  # trained to the end (not NaN)


def test_the_trap_catches_what_visage_switches_off(tmp_path: Path) -> None:
    # Without visage's defaults, importing albumentations asks PyPI for its latest version.
    result = run_trapped('import albumentations\nprint("RESULT", json.dumps({"attempts": ATTEMPTS}))', tmp_path)
    assert any("pypi.org" in attempt for attempt in result["attempts"]), result


def test_private_defaults_never_override_the_users_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.delenv("WANDB_SILENT", raising=False)
    changed = set_private_defaults()
    assert os.environ["WANDB_MODE"] == "online" and "WANDB_MODE" not in changed
    assert os.environ["WANDB_SILENT"] == "true" and changed["WANDB_SILENT"] == "true"
