"""The Streamlit demo: its texts, run discovery, the page in AppTest, and (marked `browser`) in headless Chromium."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import ROOT, call
from tests.test_inference import astronaut
from visage.core.errors import ConfigError
from visage.demo_app import runs as run_files
from visage.demo_app import texts
from visage.demo_app.settings import DemoSettings

APP = ROOT / "visage" / "demo_app" / "app.py"
CHROMIUM = Path("/usr/bin/chromium")


def png_bytes() -> bytes:
    """Return the astronaut photo as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(astronaut()).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def runs_dir(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of two runs (the session's tiny run, copied twice) for the run switch."""
    folder = tmp_path_factory.mktemp("demo") / "runs"
    for name in ("joint", "separate"):
        shutil.copytree(tiny_run, folder / name)
    return folder


def page_text(at) -> str:
    """Return all the text an AppTest page shows (markdown, alerts, captions)."""
    parts = [e.value for kind in ("markdown", "warning", "info", "error", "caption", "title") for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


def test_texts_say_estimated_and_warn_about_synthetic_training_data() -> None:
    assert "mean nothing" in texts.training_notice("synthetic")
    assert "UTKFace" in texts.training_notice("UTKFace") and "not recorded" in texts.training_notice(None)
    age = texts.age_text({"estimate": 34.2, "interval": [29.0, 40.1]}, 0.8)
    assert age.startswith("Estimated age: 34") and "80% interval 29–40" in age
    assert texts.label_text("gender", {"label": "Female", "probability": 0.91}).startswith("Estimated gender: Female")
    for text in (texts.ETHICS, texts.SYNTHETIC_NOTICE, age, texts.distribution_caption("race")):
        assert "you are" not in text.lower()
    assert "never stored" in texts.ETHICS


def test_runs_are_found_in_folders_and_bad_paths_are_one_line_errors(runs_dir, tmp_path) -> None:
    assert [r.name for r in run_files.find_runs([runs_dir])] == ["joint", "separate"]
    assert run_files.find_runs([runs_dir / "joint", runs_dir]) == [runs_dir / "joint", runs_dir / "separate"]
    with pytest.raises(ConfigError, match="does not exist"):
        run_files.find_runs([tmp_path / "nope"])
    with pytest.raises(ConfigError, match="not a finished visage run"):
        run_files.find_runs([tmp_path])
    info = run_files.run_info(runs_dir / "joint")
    assert info["dataset"] == "synthetic" and info["backbone"] == "test_resnet"


def test_fairness_tables_come_from_the_saved_results(runs_dir, tmp_path) -> None:
    results = run_files.fairness_results(runs_dir / "joint")
    table = run_files.group_table(results, "race")
    assert list(table["group"]) == list(results["by_group"]["race"])
    assert {"n", "age_mae", "age_mae 95% CI"} <= set(table.columns)
    assert run_files.report_file(runs_dir / "joint", tmp_path) is None
    (tmp_path / "joint").mkdir()
    (tmp_path / "joint" / "report.md").write_text("# report\n")
    assert run_files.report_file(runs_dir / "joint", tmp_path) == tmp_path / "joint" / "report.md"


def test_demo_command_checks_runs_before_starting(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = call("demo", f"run={tmp_path / 'missing'}")  # had it not stopped, it would have become Streamlit
    stderr = capsys.readouterr().err
    assert code == 2 and stderr.strip().count("\n") == 0 and "does not exist" in stderr


def test_streamlit_is_started_on_loopback_without_usage_statistics() -> None:
    from visage.runner.cli import CONFIG_DIR

    source = (ROOT / "visage" / "demo.py").read_text()
    for option in ('"--server.address"', '"--browser.gatherUsageStats", "false"', '"--server.headless", "true"'):
        assert option in source
    assert "host: 127.0.0.1" in (CONFIG_DIR / "demo.yaml").read_text()


@pytest.fixture()
def app(runs_dir, tmp_path, monkeypatch):
    """An AppTest of the page over the two runs, run from an empty folder (to see that nothing is written)."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(*next(iter(DemoSettings(runs=[str(runs_dir)], reports_dir=str(tmp_path / "reports")).to_env().items())))
    at = AppTest.from_file(str(APP), default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    return at


def test_page_shows_ethics_box_and_training_notice_before_any_photo(app) -> None:
    text = page_text(app)
    assert "Ethics and privacy" in text and "never stored" in text
    assert "synthetic" in text and "mean nothing" in text
    assert [o.split(" · ")[0] for o in app.radio(key="run").options] == ["joint", "separate"]
    assert "Choose a photo" in text


def test_uploaded_photo_gets_boxed_estimates_with_confidence_and_a_race_distribution(app, tmp_path) -> None:
    app.get("file_uploader")[0].upload("astronaut.png", png_bytes(), "image/png")
    app.run()
    assert not app.exception, app.exception
    text = page_text(app)
    assert "Face 1" in text and "Estimated age:" in text and "interval" in text
    assert "Estimated gender:" in text and "model probability" in text
    assert "Estimated race distribution" in text and "not a fact about the person" in text
    assert "you are" not in text.lower()
    assert len(app.get("vega_lite_chart")) == 1  # the race distribution as a bar chart
    assert "Ethics and privacy" in text and "mean nothing" in text  # still visible with a result
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # the upload was not stored


def test_example_photo_grad_cam_and_run_switch(app) -> None:
    app.radio(key="source").set_value(app.radio(key="source").options[2]).run()
    app.toggle(key="explain").set_value(True).run()
    assert not app.exception, app.exception
    text = page_text(app)
    assert "Grad-CAM" in text and "Estimated age:" in text
    assert len(app.get("image")) >= 2  # the boxed photo and the crop with its heat-maps
    other = app.radio(key="run").options[1]
    app.radio(key="run").set_value(other).run()
    assert not app.exception and "separate" in other
    app.selectbox(key="attribute").set_value("gender").run()
    assert len(app.dataframe) >= 1 and "No report yet" in page_text(app)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"demo exited with {process.returncode}: {process.stderr.read()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise AssertionError("demo did not start")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.is_file(), reason="needs /usr/bin/chromium (apt-get install chromium)")
def test_page_in_headless_chromium(runs_dir, tmp_path) -> None:
    """`python -m visage.demo` in a fresh process (demo's one), driven by Chromium; the browser starts while it does."""
    playwright = pytest.importorskip("playwright.sync_api")
    photo = tmp_path / "astronaut.png"
    photo.write_bytes(png_bytes())
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "visage.demo", f"runs=[{runs_dir}]", f"port={port}"], cwd=tmp_path,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                              "--disable-component-update", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            wait_for(port, process)
            page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
            page.get_by_text("Ethics and privacy").wait_for(timeout=120_000)
            page.locator("input[type=file]").set_input_files(str(photo))
            page.get_by_text("Estimated age:").wait_for(timeout=240_000)
            page.get_by_text("Estimated gender:").wait_for(timeout=60_000)  # the result has rendered: no fixed wait
            page.get_by_text("Estimated gender:").scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "demo.png"))
            assert page.get_by_text("Ethics and privacy").is_visible()
            assert page.get_by_text("mean nothing").is_visible()
            assert page.get_by_text("Estimated gender:").is_visible()
            assert "you are" not in page.inner_text("body").lower()
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["astronaut.png", "demo.png"]  # the upload was not stored
