"""Pretrained weights of a timm backbone, found the way timm finds them: the Hugging Face hub and its cache.

Only an explicit `backbone.pretrained=true` comes here, and only it may reach the network: with
`HF_HUB_OFFLINE=1` the cache (`$HF_HOME/hub`) alone is read. `resolve_weights` runs before any data or
model is built (`visage.runner.builders.check_weights`), so weights that are neither cached nor reachable
stop a run in one line; the file it resolves is what timm then loads (`pretrained_cfg_overlay=dict(file=...)`),
and its identity (name, tag, hub id, SHA-256) is recorded with the run.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import timm
from timm.models import get_pretrained_cfg, split_model_name_tag

from visage.core.errors import ConfigError

HF_HUB_PREFIX = "hf-hub:"
HUB_FILENAMES = ("model.safetensors", "pytorch_model.bin")  # timm's order: safetensors first
_SHA256: dict[tuple[str, int, float], str] = {}


@dataclass(frozen=True)
class BackboneSource:
    """What a timm name resolves to: the architecture, its weights' tag and hub id, and its pretrained config.

    Attributes:
        name: the name as given (`resnet18`, `convnext_tiny.fb_in22k_ft_in1k`, `hf-hub:timm/resnet18.a1_in1k`).
        architecture: the timm architecture (`convnext_tiny`).
        tag: the weights' tag (`fb_in22k_ft_in1k`; timm's default tag for an untagged name), None for hub names.
        hf_hub_id: the hub repository holding the weights (`timm/convnext_tiny.fb_in22k_ft_in1k`), if any.
        revision: the hub revision (`hf-hub:<id>@<rev>`), None for the default branch.
        pretrained_cfg: timm's pretrained config (input size, mean/std, interpolation, crop, ...).
        model_args: architecture arguments a hub config carries (empty for registry names).
    """

    name: str
    architecture: str
    tag: str | None
    hf_hub_id: str | None
    revision: str | None = None
    pretrained_cfg: dict[str, Any] = field(default_factory=dict)
    model_args: dict[str, Any] = field(default_factory=dict)

    @property
    def is_hub_name(self) -> bool:
        """Whether the name is an `hf-hub:` name (its architecture comes from the hub's config.json)."""
        return self.name.startswith(HF_HUB_PREFIX)


@dataclass(frozen=True)
class Weights:
    """A weights file found for a backbone, and where it came from (recorded in metrics.json)."""

    name: str
    architecture: str
    tag: str | None
    hf_hub_id: str | None
    filename: str
    file: str
    sha256: str
    source: str  # "hf-hub" (the hub or its cache) or "file" (backbone.checkpoint_path)

    def identity(self) -> dict[str, Any]:
        """Return the weights' identity as plain values."""
        return asdict(self)


def hub_cache_dir() -> str:
    """Return the Hugging Face hub cache in use (`$HF_HUB_CACHE`, by default `$HF_HOME/hub`)."""
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def hub_offline() -> bool:
    """Return whether the hub is switched off (`HF_HUB_OFFLINE=1`)."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _unknown(name: str, reason: str = "") -> ConfigError:
    architecture = split_model_name_tag(name)[0]
    close = timm.list_models(f"*{architecture.split('_')[0]}*")[:10]
    return ConfigError(f"unknown timm backbone '{name}'{reason}" + (f"; similar: {', '.join(close)}" if close else ""))


def resolve_source(name: str, *, allow_network: bool = False) -> BackboneSource:
    """Return what the timm name `name` resolves to, without building a model.

    Registry names (with or without a weights tag) are resolved from timm's registry, with no file read.
    An `hf-hub:` name needs the repository's config.json: from the cache, or (with `allow_network`,
    i.e. `pretrained=true`, and the hub not switched off) from the hub.

    Raises:
        ConfigError: unknown architecture or tag, or a hub config that is neither cached nor allowed to be fetched.
    """
    if name.startswith(HF_HUB_PREFIX):
        return _hub_name_source(name, allow_network)
    try:
        architecture, tag = split_model_name_tag(name)
    except ValueError:
        raise _unknown(name) from None
    if not timm.is_model(architecture):
        raise _unknown(name)
    try:
        cfg = get_pretrained_cfg(name)
    except RuntimeError as error:  # "Invalid pretrained tag (x) for y."
        raise _unknown(name, f" ({str(error).rstrip('.')})") from None
    cfg_dict = cfg.to_dict() if cfg is not None else {}
    default_tag = getattr(cfg, "tag", None) or None
    return BackboneSource(name, architecture, tag or default_tag, cfg_dict.get("hf_hub_id"), None, cfg_dict, {})


def _hub_name_source(name: str, allow_network: bool) -> BackboneSource:
    import json

    from timm.models._hub import _parse_model_cfg

    model_id = name.removeprefix(HF_HUB_PREFIX)
    repo, _, revision = model_id.partition("@")
    path = _cached_or_fetched(name, repo, "config.json", revision or None, allow_network)
    pretrained_cfg, architecture, model_args = _parse_model_cfg(json.loads(Path(path).read_text()),
                                                                {"hf_hub_id": model_id, "source": "hf-hub"})
    if not timm.is_model(architecture):
        raise ConfigError(f"backbone '{name}': its hub config names architecture '{architecture}', unknown to this timm")
    return BackboneSource(name, architecture, None, repo, revision or None, dict(pretrained_cfg), dict(model_args))


def _missing(name: str, what: str, reason: str) -> ConfigError:
    return ConfigError(
        f"backbone.pretrained=true: the weights of {name} ({what}) are not in the Hugging Face cache "
        f"{hub_cache_dir()} and cannot be fetched ({reason}); either go online once (without HF_HUB_OFFLINE=1: "
        "timm caches them there), or give a local weights file with backbone.checkpoint_path=<file>"
    )


def _cached_or_fetched(name: str, repo: str, filename: str, revision: str | None, allow_network: bool) -> str:
    """Return the local path of `filename` in hub repository `repo`, from the cache or (if allowed) the hub."""
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    cached = try_to_load_from_cache(repo, filename, revision=revision)
    if isinstance(cached, str):
        return cached
    if not allow_network or hub_offline():
        reason = "HF_HUB_OFFLINE=1" if hub_offline() else "only backbone.pretrained=true may download"
        raise _missing(name, f"{repo}/{filename}", reason)
    try:
        return hf_hub_download(repo, filename, revision=revision)
    except Exception as error:  # offline, unreachable, gated, missing: one line for the user
        raise _missing(name, f"{repo}/{filename}", _reason(error)) from None


def sha256_of(path: str | Path) -> str:
    """Return the SHA-256 of a file (remembered per path, size and modification time)."""
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime)
    if key not in _SHA256:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _SHA256[key] = digest.hexdigest()
    return _SHA256[key]


def resolve_weights(name: str, checkpoint_path: str | None = None) -> Weights:
    """Return the pretrained weights file of backbone `name`: `checkpoint_path`, else the hub's (cache first).

    With the hub online, a file not yet cached is downloaded into the cache (what timm would do); with
    `HF_HUB_OFFLINE=1` only the cache is read.

    Raises:
        ConfigError: the name is unknown, `checkpoint_path` does not exist, or the weights are neither
            cached nor reachable (naming the weights, the cache and the two ways out).
    """
    if checkpoint_path:
        if not Path(checkpoint_path).expanduser().is_file():
            raise ConfigError(f"backbone.checkpoint_path '{checkpoint_path}' does not exist")
        source = resolve_source(name, allow_network=False) if not name.startswith(HF_HUB_PREFIX) else None
        file = str(Path(checkpoint_path).expanduser())
        return Weights(name, source.architecture if source else name, source.tag if source else None,
                       None, Path(file).name, file, sha256_of(file), "file")
    source = resolve_source(name, allow_network=True)
    if not source.hf_hub_id:
        raise ConfigError(f"backbone '{name}' has no weights on the Hugging Face hub (timm's config names none); "
                          "give a local weights file with backbone.checkpoint_path=<file>")
    filenames = ([source.pretrained_cfg["hf_hub_filename"]] if source.pretrained_cfg.get("hf_hub_filename")
                 else list(HUB_FILENAMES))
    path = _first_available(source, filenames)
    return Weights(name, source.architecture, source.tag, source.hf_hub_id, Path(path).name, path, sha256_of(path),
                   "hf-hub")


def _first_available(source: BackboneSource, filenames: list[str]) -> str:
    """Return the first of `filenames` in the source's hub repository that is cached, else the first the hub has."""
    from huggingface_hub import hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import EntryNotFoundError

    repo, what = str(source.hf_hub_id), f"{source.hf_hub_id}/{' or '.join(filenames)}"
    for filename in filenames:  # a cached file of any of the names wins before the hub is asked
        cached = try_to_load_from_cache(repo, filename, revision=source.revision)
        if isinstance(cached, str):
            return cached
    if hub_offline():
        raise _missing(source.name, what, "HF_HUB_OFFLINE=1")
    for filename in filenames:
        try:
            return hf_hub_download(repo, filename, revision=source.revision)
        except EntryNotFoundError:
            continue
        except Exception as error:  # unreachable, gated, unknown repository: one line for the user
            raise _missing(source.name, what, _reason(error)) from None
    raise _missing(source.name, what, "the hub repository holds none of these files")


def _reason(error: BaseException) -> str:
    message = (str(error).strip().splitlines() or [""])[0][:160]
    return f"{type(error).__name__}: {message}" if message else type(error).__name__
