"""The Streamlit page (`streamlit run` this file; `python -m visage.demo` does it with safe server options).

Uploads and camera snapshots stay in memory (Streamlit keeps them in its in-memory file manager);
nothing here writes a file.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from visage.core.errors import ConfigError
from visage.demo_app import runs as run_files
from visage.demo_app import texts
from visage.demo_app.models import DemoModel, load_demo_model
from visage.demo_app.settings import DemoSettings
from visage.fairness.multiple_testing import CORRECTIONS, family_tests
from visage.inference.crops import crop_face
from visage.inference.gradcam import overlay
from visage.inference.images import ImageError, decode_image
from visage.inference.overlay import draw_faces
from visage.inference.sources import IMAGE_SUFFIXES

PHOTO_WIDTH = 560  # pixels on the page, so the estimates below stay in view
SOURCES = ("Upload a photo", "Camera snapshot", "Example photo (Grace Hopper, public domain, ships with matplotlib)")


@st.cache_resource(show_spinner="Loading the model...")
def cached_model(run_dir: str, settings_json: str) -> DemoModel:
    """Return the run's model, loaded once per run and settings."""
    return load_demo_model(run_dir, DemoSettings(**json.loads(settings_json)))


def example_photo() -> bytes:
    """Return the bytes of matplotlib's sample photo of Grace Hopper (public domain)."""
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        return handle.read()


def ethics_box() -> None:
    """Show the ethics and privacy box (at the top of every page)."""
    with st.container(border=True, key="ethics-box"):
        st.markdown(f"#### {texts.ETHICS_TITLE}")
        st.markdown(texts.ETHICS)


def image_input(source: str) -> tuple[str, bytes] | None:
    """Return (name, bytes) of the image chosen with `source`, or None while there is none."""
    if source == SOURCES[0]:
        upload = st.file_uploader("Photo (kept in memory, never stored)", type=[s.lstrip(".") for s in IMAGE_SUFFIXES])
        return (upload.name, upload.getvalue()) if upload else None
    if source == SOURCES[1]:
        snapshot = st.camera_input("Camera snapshot (kept in memory, never stored)")
        return ("camera snapshot", snapshot.getvalue()) if snapshot else None
    return ("example photo", example_photo())


def show_face(k: int, face: dict, model: DemoModel) -> None:
    """Show one face's estimates, each with its confidence; distributions as bar charts."""
    st.markdown(f"**Face {k}** (detection score {face['detection_score']:.2f})")
    age = texts.age_text(face.get("age"), model.about.get("age_interval_coverage"))
    if age:
        st.markdown(age)
    for task in model.predictor.classes:
        value = face[task]
        if "label" in value:
            st.markdown(texts.label_text(task, value))
        else:
            chart = pd.DataFrame({"probability": list(value.values())}, index=list(value))
            st.bar_chart(chart, horizontal=True, height=40 + 30 * len(value))
            st.caption(texts.distribution_caption(task))


def show_heatmaps(image: np.ndarray, faces: list[dict], model: DemoModel, margin: float) -> None:
    """Show Grad-CAM maps for each face: what pushes the age up, what raises each head's top class."""
    size = model.predictor.image_size
    crops = np.stack([crop_face(image, tuple(face["box"]), size, margin) for face in faces])
    for k, maps in enumerate(model.explainer.explain(crops), start=1):
        st.markdown(f"**Face {k}: Grad-CAM** (what moved this model's output; it explains the model, not the person)")
        columns = st.columns(len(maps) + 1)
        columns[0].image(crops[k - 1], caption="face crop", width="stretch")
        for column, heatmap in zip(columns[1:], maps):
            column.image(overlay(crops[k - 1], heatmap.cam), caption=heatmap.meaning, width="stretch")


def estimate_tab(model: DemoModel, settings: DemoSettings, explain: bool) -> None:
    """The estimate page: choose an image, see boxed faces and their estimates."""
    source = st.radio("Image", SOURCES, horizontal=True, key="source")
    chosen = image_input(source)
    if chosen is None:
        st.info("Choose a photo to see the model's estimates.")
        return
    name, data = chosen
    try:
        image = decode_image(data, name=name, max_pixels=settings.max_pixels)
    except ImageError as error:
        st.error(str(error))
        return
    result = model.predictor.predict_image(image)
    faces = result["faces"]
    if not faces:
        st.image(image, caption="No face found", width=PHOTO_WIDTH)
        st.info("No face found. Try a photo with a frontal face, well lit.")
        return
    st.image(draw_faces(image, faces, titles=[f"face {k}" for k in range(1, len(faces) + 1)]),
             caption=f"{len(faces)} face(s), estimated by run {model.about.get('run')}", width=PHOTO_WIDTH)
    for k, face in enumerate(faces, start=1):
        show_face(k, face, model)
    if explain:
        show_heatmaps(image, faces, model, settings.margin)


def fairness_tab(run_dir: Path, settings: DemoSettings) -> None:
    """The fairness page: per-group results on the test split, gaps, and the run's report when it exists."""
    results = run_files.fairness_results(run_dir)
    if results is None:
        st.info(f"Run {run_dir.name} has no fairness/test.json; evaluate it with python -m visage.evaluate run={run_dir}")
        return
    st.markdown(f"Results on the run's **test** split ({results.get('n')} faces), per group, with 95% intervals.")
    attribute = st.selectbox("Grouped by", list(results["by_group"]), key="attribute")
    st.dataframe(run_files.group_table(results, attribute), hide_index=True)
    left, right = st.columns(2)
    corrections = list(CORRECTIONS)
    correction = left.selectbox("Correction for multiple tests", corrections, key="correction",
                                index=corrections.index(settings.correction))
    alpha = right.number_input("alpha", min_value=0.001, max_value=0.5, value=float(settings.alpha), step=0.01,
                               key="alpha", format="%.3f")
    family = family_tests(results, "gaps", correction, alpha)
    gaps = run_files.disparity_table(results, attribute, family)
    if not gaps.empty:
        st.markdown("Gaps between groups (largest minus smallest over groups big enough to judge; empty when "
                    f"undefined). p-values from permutations, adjusted ({correction}) over all "
                    f"{family['families']['gaps']['size']} gap tests of the split; \"beyond chance\" is adjusted p < {alpha:g}.")
        st.dataframe(gaps, hide_index=True)
    report = run_files.report_file(run_dir, Path(settings.reports_dir))
    if report is None:
        st.caption(f"No report yet: python -m visage.report run={run_dir}")
        return
    with st.expander(f"Report ({report})"):
        st.markdown(report.read_text())


def main() -> None:
    """Lay out the page."""
    st.set_page_config(page_title="visage demo", layout="wide")
    settings = DemoSettings.from_env()
    st.title("visage: estimated face attributes")
    ethics_box()
    try:
        runs = run_files.find_runs(settings.runs)
    except ConfigError as error:
        st.error(str(error))
        return
    if not runs:
        st.error("No run to show; start the demo with python -m visage.demo run=<run dir>")
        return
    labels = {run_files.run_label(r): r for r in runs}
    with st.sidebar:
        chosen = st.radio("Model (run)", list(labels), key="run")
        explain = st.toggle("Show Grad-CAM heat-maps", key="explain")
    run_dir = labels[chosen]
    info = run_files.run_info(run_dir)
    st.warning(f"**Training data.** {texts.training_notice(info['dataset'])}", icon="⚠️")
    estimate, fairness = st.tabs(["Estimate", "Fairness of this model"])
    with estimate:
        model = cached_model(str(run_dir), json.dumps(asdict(settings)))
        estimate_tab(model, settings, explain)
    with fairness:
        fairness_tab(run_dir, settings)


if __name__ == "__main__":
    main()
