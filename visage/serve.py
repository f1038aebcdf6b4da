"""`python -m visage.serve run=<run dir> [port=8000] [host=127.0.0.1] [runtime=eager|onnx|torchscript]`.

Starts the JSON API (`POST /predict` with the image as multipart field `file`, `GET /health`) on
loopback unless `host=` says otherwise. Uploads stay in memory and are never stored or logged.
"""

from __future__ import annotations

from collections.abc import Sequence

from hydra.utils import instantiate
from omegaconf import DictConfig

from visage.runner.cli import run_command, usage_errors_exit


def run(cfg: DictConfig) -> None:
    """Load the run's model and serve it until interrupted."""
    with usage_errors_exit():
        import uvicorn

        from visage.core.errors import ConfigError
        from visage.inference.api import create_app
        from visage.inference.loading import load_predictor

        if not 0 <= int(cfg.port) <= 65535:
            raise ConfigError(f"port={cfg.port} is not a TCP port (0-65535)")
        predictor = load_predictor(cfg.run, instantiate(cfg.detector), runtime=cfg.runtime, margin=cfg.crop.margin,
                                   batch_size=cfg.batch_size, coverage=cfg.age_interval.coverage)
        app = create_app(predictor, max_bytes=int(cfg.limits.max_bytes), max_pixels=int(cfg.limits.max_pixels),
                         max_in_flight=int(cfg.limits.max_in_flight))
    print(f"visage API on http://{cfg.host}:{cfg.port} (POST /predict with field 'file', GET /health)", flush=True)
    uvicorn.run(app, host=str(cfg.host), port=int(cfg.port), log_level="warning", server_header=False)


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m visage.serve [key=value ...]`: parse the command line (`visage.runner.cli`) and serve."""
    run_command("serve", run, argv)


if __name__ == "__main__":
    main()
