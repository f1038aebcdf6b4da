"""`python -m visage.demo [run=<run dir>] [runs=[a,b]] [port=8501]`: the Streamlit demo, on loopback.

Starts `streamlit run visage/demo_app/app.py` headless, on 127.0.0.1 unless `host=` says otherwise,
with usage statistics off and uploads capped; the runs are checked before the server starts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from visage.runner.cli import run_command, usage_errors_exit

DEFAULT_RUNS = "experiments"


def streamlit_command(app: Path, host: str, port: int, max_upload_mb: int) -> list[str]:
    """Return the command line that serves `app` privately: loopback, headless, no usage statistics."""
    return [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", host, "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            "--server.runOnSave", "false", "--server.maxUploadSize", str(max_upload_mb),
            "--global.developmentMode", "false", "--client.toolbarMode", "viewer"]


def run(cfg: DictConfig) -> None:
    """Check the runs, then serve the demo until interrupted."""
    with usage_errors_exit():
        from visage.core.errors import ConfigError
        from visage.demo_app.runs import find_runs
        from visage.demo_app.settings import DemoSettings
        from visage.inference.settings import deprecated_key

        if not 0 <= int(cfg.port) <= 65535:
            raise ConfigError(f"port={cfg.port} is not a TCP port (0-65535)")
        paths = [*([cfg.run] if cfg.run else []), *list(cfg.runs or [])] or [DEFAULT_RUNS]
        runs = find_runs(paths)
        instantiate(cfg.detector)  # a bad detector fails here, in one line, not in the browser
        settings = DemoSettings.from_config(cfg, [str(r.resolve()) for r in runs])
        max_upload_mb = deprecated_key(cfg, "limits.max_upload_mb", "limits.max_bytes")
        if cfg.limits.max_upload_mb is None:  # Streamlit counts whole megabytes (MiB)
            max_upload_mb = max(1, -(-int(cfg.limits.max_bytes) // 2**20))
    app = Path(__file__).resolve().parent / "demo_app" / "app.py"
    print(f"visage demo on http://{cfg.host}:{cfg.port} ({len(runs)} run(s))", flush=True)
    command = streamlit_command(app, str(cfg.host), int(cfg.port), int(max_upload_mb))
    # Become the Streamlit server (no child left behind when this process is stopped).
    os.execve(sys.executable, command, {**os.environ, **settings.to_env()})


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m visage.demo [key=value ...]`: parse the command line (`visage.runner.cli`) and serve the demo."""
    run_command("demo", run, argv)


if __name__ == "__main__":
    main()
