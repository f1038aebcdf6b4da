"""Hub weights, opt-in: `backbone.pretrained=true` loads timm's published weights from the Hugging Face cache.

The cache is a fixture in a temporary HF_HOME (hub layout: `hub/models--timm--<name>/refs/main` and
`snapshots/<rev>/model.safetensors`) holding a known state dict; the hub is switched off, so nothing
here can reach the network.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import safetensors.torch
import timm
import torch
from omegaconf import open_dict

from tests.helpers import ROOT, TINY
from tests.test_privacy import TRAP
from visage.core.errors import ConfigError
from visage.models.backbone import create_backbone, standalone_spec
from visage.models.pretrained import resolve_source, resolve_weights, sha256_of
from visage.runner import builders
from visage.train import train

TINY_TIMM = "test_resnet.r160_in1k"  # timm's own test network (~0.5 M parameters), published at 160 px
REVISION = "0123456789abcdef0123456789abcdef01234567"


def write_hub_cache(hf_home: Path, name: str, *, seed: int = 7, hub_config: bool = False) -> dict[str, torch.Tensor]:
    """Write `name`'s weights (a known random state dict) into a Hugging Face cache as the hub would; return them.

    With `hub_config`, the repository also holds timm's config.json (what `hf-hub:` names need).
    """
    torch.manual_seed(seed)
    model = timm.create_model(name, pretrained=False)
    state = {key: value.detach().clone().contiguous() for key, value in model.state_dict().items()}
    repo = hf_home / "hub" / f"models--timm--{name}"
    snapshot = repo / "snapshots" / REVISION
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(REVISION)
    safetensors.torch.save_file(state, str(snapshot / "model.safetensors"))
    if hub_config:
        from timm.models._hub import save_config_for_hf

        save_config_for_hf(model, str(snapshot / "config.json"))
    return state


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point huggingface_hub at an empty cache in a temporary HF_HOME, with the hub switched off."""
    return use_empty_hub_cache(tmp_path, monkeypatch)


def use_empty_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point huggingface_hub at an empty cache in `tmp_path/hf_home`, with the hub switched off; return HF_HOME."""
    from huggingface_hub import constants

    hf_home = tmp_path / "hf_home"
    (hf_home / "hub").mkdir(parents=True)
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf_home / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return hf_home


def _backbone_equals(backbone: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    got = backbone.model.state_dict()
    assert set(got) == {k for k in state if not k.startswith("fc.")}  # the classifier is dropped (num_classes=0)
    for key, value in got.items():
        torch.testing.assert_close(value, state[key], rtol=0, atol=0)


def test_pretrained_true_starts_from_exactly_the_cached_weights(compose_train, hub_cache: Path, caplog) -> None:
    state = write_hub_cache(hub_cache, TINY_TIMM)
    cached = next((hub_cache / "hub").glob("models--timm--*/snapshots/*/model.safetensors"))
    cfg = compose_train(f"backbone.name={TINY_TIMM}", "backbone.pretrained=true", "evaluation.fairness.n_boot=20",
                        "evaluation.fairness.n_perm=20")
    with open_dict(cfg):
        cfg.job_overrides = ["data.image_size=32"]  # as run_job records the command line: the user's size wins
    with caplog.at_level(logging.WARNING, logger="visage.runner.builders"):
        metrics, objects = train(cfg)
    assert "data.image_size=32 differs from the 160 px input of the weights test_resnet.r160_in1k" in caplog.text
    weights = metrics[builders.PRETRAINED_WEIGHTS_KEY]
    assert weights == {"name": TINY_TIMM, "architecture": "test_resnet", "tag": "r160_in1k",
                       "hf_hub_id": "timm/test_resnet.r160_in1k", "filename": "model.safetensors",
                       "file": str(cached), "sha256": sha256_of(cached), "source": "hf-hub"}
    saved = json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())
    assert saved[builders.PRETRAINED_WEIGHTS_KEY]["sha256"] == weights["sha256"]
    import hashlib
    assert weights["sha256"] == hashlib.sha256(cached.read_bytes()).hexdigest()
    # step 0: the module built for this run holds exactly the cached tensors
    module = builders.build_module(cfg, objects["datamodule"])
    _backbone_equals(module.net.backbone, state)
    assert module.hparams["net"]["backbone"]["pretrained"] is False  # a checkpoint never fetches them again


def test_weights_follow_timm_when_the_user_sets_no_size(compose_train, hub_cache: Path) -> None:
    write_hub_cache(hub_cache, TINY_TIMM)
    cfg = compose_train(f"backbone.name={TINY_TIMM}", "backbone.pretrained=true")
    chosen = builders.choose_image_size(cfg)
    assert chosen == {"image_size": 160, "weights_input_size": 160, "interpolation": "bilinear", "crop_pct": 0.95,
                      "crop_mode": "center"}
    assert cfg.data.image_size == 160
    plain = compose_train()  # no pretrained weights: the data config's size stays
    assert builders.choose_image_size(plain)["image_size"] == 32 and "interpolation" not in builders.choose_image_size(plain)


def test_tagged_and_hf_hub_names_resolve_without_the_network(hub_cache: Path) -> None:
    tagged = resolve_source("convnext_tiny.fb_in22k_ft_in1k")
    assert (tagged.architecture, tagged.tag, tagged.hf_hub_id) == ("convnext_tiny", "fb_in22k_ft_in1k",
                                                                   "timm/convnext_tiny.fb_in22k_ft_in1k")
    assert resolve_source("resnet18.a1_in1k").pretrained_cfg["crop_pct"] == 0.95
    assert resolve_source("resnet18").tag == "a1_in1k"  # timm's default weights of the architecture
    with pytest.raises(ConfigError, match=r"unknown timm backbone 'resnet18.bogus' \(Invalid pretrained tag"):
        resolve_source("resnet18.bogus")
    with pytest.raises(ConfigError, match="unknown timm backbone 'resnet_nonexistent'"):
        resolve_source("resnet_nonexistent")
    state = write_hub_cache(hub_cache, TINY_TIMM, hub_config=True)
    hub_name = f"hf-hub:timm/{TINY_TIMM}"
    backbone = create_backbone(hub_name, pretrained=True)
    _backbone_equals(backbone, state)
    spec = standalone_spec({"_target_": "visage.models.backbone.create_backbone", "name": hub_name, "pretrained": True})
    assert spec["name"] == "test_resnet" and spec["pretrained"] is False
    assert spec["pretrained_cfg"]["mean"] == list(backbone.model.pretrained_cfg["mean"])
    rebuilt = create_backbone(**{k: v for k, v in spec.items() if k != "_target_"})
    torch.testing.assert_close(rebuilt.mean, backbone.mean)
    assert sorted(rebuilt.state_dict()) == sorted(backbone.state_dict())


def test_checkpoint_path_keeps_working_and_is_identified(tmp_path: Path) -> None:
    weights_file = tmp_path / "mine.pth"
    torch.manual_seed(3)
    state = timm.create_model("resnet18", num_classes=0).state_dict()
    torch.save(state, weights_file)
    backbone = create_backbone("resnet18", pretrained=True, checkpoint_path=str(weights_file))
    for key, value in backbone.model.state_dict().items():
        torch.testing.assert_close(value, state[key], rtol=0, atol=0)
    identity = resolve_weights("resnet18", str(weights_file)).identity()
    assert identity["source"] == "file" and identity["sha256"] == sha256_of(weights_file)


def test_empty_cache_offline_is_one_line_exit_2_leaving_no_run(tmp_path: Path) -> None:
    hf_home = tmp_path / "empty_hf_home"
    (hf_home / "hub").mkdir(parents=True)
    code = TRAP + (
        "import atexit, json, runpy, sys\n"
        "atexit.register(lambda: print('RESULT', json.dumps(ATTEMPTS)))\n"
        f"sys.argv = ['visage.train', *{[*TINY, 'backbone.name=' + TINY_TIMM, 'backbone.pretrained=true']!r},"
        f" 'paths.experiments_dir={tmp_path / 'exp'}']\n"
        "runpy.run_module('visage.train', run_name='__main__')\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"}
    env.pop("HF_HUB_CACHE", None)
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    elapsed = time.monotonic() - start
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0] == (
        f"error: backbone.pretrained=true: the weights of {TINY_TIMM} (timm/{TINY_TIMM}/model.safetensors or "
        f"pytorch_model.bin) are not in the Hugging Face cache {hf_home / 'hub'} and cannot be fetched "
        "(HF_HUB_OFFLINE=1); either go online once (without HF_HUB_OFFLINE=1: timm caches them there), or give a "
        "local weights file with backbone.checkpoint_path=<file>")
    assert json.loads(done.stdout.split("RESULT ", 1)[1]) == []
    assert not list((tmp_path / "exp").glob("runs/*")) and not (tmp_path / "exp" / "splits").exists()
    assert elapsed < 60  # seconds: interpreter start and imports only; nothing is built
