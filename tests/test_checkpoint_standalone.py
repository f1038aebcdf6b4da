"""A checkpoint stands alone: Lightning's `load_from_checkpoint` in a fresh process, no Hydra config, no weights file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict

from tests.helpers import ROOT, TINY
from tests.test_privacy import TRAP
from visage.models.checkpoints import load_checkpoint
from visage.models.module import FaceAttributeModule
from visage.runner.cli import CONFIG_DIR
from visage.train import train

# Runs in a fresh interpreter that imports only the module's file (no config, no runner, no data code),
# with every outgoing connection trapped and the hub switched off.
STANDALONE = '''
import json, sys, torch
from visage.models.module import FaceAttributeModule
checkpoint_file, images_file, out_file = sys.argv[1:4]
raw = torch.load(checkpoint_file)                       # torch's default: weights_only=True
module = FaceAttributeModule.load_from_checkpoint(checkpoint_file, map_location="cpu").eval()
batch = torch.load(images_file)
with torch.no_grad():
    out = module.predict_step(batch, 0)
torch.save({k: v for k, v in out.items()}, out_file)
print("RESULT", json.dumps({"attempts": ATTEMPTS, "backbone": raw["hyper_parameters"]["net"]["backbone"],
                            "runner_imported": "visage.runner.builders" in sys.modules,
                            "classes": module.run_spec["classes"]}))
'''


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[DictConfig, dict]:
    """One TINY run started from a local weights file (then deleted), with group DRO, a sampler and augmentation."""
    root = tmp_path_factory.mktemp("standalone")
    weights = root / "weights.pth"
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        plain = compose(config_name="train", overrides=TINY)
        cfg = compose(config_name="train", overrides=[
            *TINY, f"paths.experiments_dir={root / 'exp'}", "backbone.pretrained=true",
            f"backbone.checkpoint_path={weights}", "loss=group_dro", "sampler=race_age_balanced", "augmentation=basic",
            "evaluation.fairness.n_boot=20", "evaluation.fairness.n_perm=20"])
    GlobalHydra.instance().clear()
    torch.save(instantiate(plain.backbone)().model.state_dict(), weights)
    with open_dict(cfg):
        cfg.paths.output_dir = str(root / "run")
    _, objects = train(cfg)
    weights.unlink()  # loading must not need it
    return cfg, objects


def test_load_from_checkpoint_in_a_fresh_process_predicts_what_the_run_predicted(trained: tuple[DictConfig, dict],
                                                                                 tmp_path: Path) -> None:
    cfg, objects = trained
    run = Path(cfg.paths.output_dir)
    datamodule = objects["datamodule"]
    batch = next(iter(datamodule.loader("test")))
    torch.save({"image": batch["image"], "index": batch["index"]}, tmp_path / "images.pt")

    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", TRAP + STANDALONE, str(run / "checkpoints" / "best.ckpt"),
                           str(tmp_path / "images.pt"), str(tmp_path / "out.pt")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    result = json.loads(line.removeprefix("RESULT "))
    assert result["attempts"] == [] and not result["runner_imported"]
    assert result["backbone"]["pretrained"] is False and result["backbone"]["checkpoint_path"] is None
    assert result["backbone"]["name"] == "test_resnet"
    assert result["classes"]["race"] == ["White", "Black", "Asian", "Indian", "Others"]

    got = torch.load(tmp_path / "out.pt")
    table = pd.read_parquet(run / "predictions" / "test.parquet")
    position = {int(i): k for k, i in enumerate(datamodule.split_indices["test"])}
    rows = table.iloc[[position[int(i)] for i in batch["index"]]]
    np.testing.assert_allclose(got["age"].numpy(), rows["age_pred"].to_numpy(), rtol=1e-5, atol=1e-4)
    races = [f"race_prob_{name}" for name in result["classes"]["race"]]
    np.testing.assert_allclose(got["race"].numpy(), rows[races].to_numpy(), rtol=1e-5, atol=1e-6)


def test_every_checkpoint_holds_only_tensors_and_plain_values(trained: tuple[DictConfig, dict]) -> None:
    cfg, objects = trained
    for name in ("best.ckpt", "last.ckpt"):
        checkpoint = torch.load(Path(cfg.paths.output_dir) / "checkpoints" / name, weights_only=True)
        assert checkpoint["hyper_parameters"]["group_weighting"]["by"] == "race*age_bin"
        assert checkpoint["hyper_parameters"]["optimizer"] == {"_target_": "torch.optim.AdamW", "_partial_": True,
                                                               "lr": 0.002, "weight_decay": 0.0001}
        assert checkpoint["visage_group_weighting"]["steps"] == 3  # trainer=smoke: 3 training batches
    rebuilt = FaceAttributeModule(**load_checkpoint(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt")
                                  ["hyper_parameters"])
    assert type(rebuilt.group_weighting).__name__ == "GroupDRO" and rebuilt.group_weighting.by == "race*age_bin"
    assert sorted(rebuilt.state_dict()) == sorted(objects["module"].state_dict())
