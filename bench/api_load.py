"""API under load: requests/s with 1, 4 and 16 clients against the predictor's own rate, the 503 share, memory.

The API (`visage.inference.api.create_app`, uvicorn on a loopback thread of this process) answers a
trained run's predictions for one face photo (matplotlib's public-domain Grace Hopper, JPEG bytes).
The reference is the same predictor called directly in this process on the same decoded image, timed
first: every API rate is printed as a ratio to it, since the machine's speed and load change both.
Each client is a thread with its own `httpx.Client`, posting as fast as answers come back; an answer
is counted by status (200, 503 when more than `limits.max_in_flight` uploads are in flight, other).
The resident memory of the process (`VmRSS`) is printed after 100 and after 1,000 requests in all,
so a leak per request shows as growth between the two.

    python bench/api_load.py --run experiments/<run>                 # 1, 4, 16 clients; 200 requests each
    python bench/api_load.py --run <run> --clients 1 4 16 64 --requests 400 --max-in-flight 8
    python bench/api_load.py                                          # trains a tiny run first (~1 min)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np

from visage.inference.api import create_app, running_in_thread
from visage.inference.detectors import WholeImage
from visage.inference.images import decode_image
from visage.inference.loading import load_predictor

REPO = Path(__file__).resolve().parents[1]
TINY = ["data.n_samples=240", "data.image_size=32", "trainer=smoke", "logger=none"]
RSS_AT = (100, 1000)


def face_photo() -> bytes:
    """Return the JPEG bytes of matplotlib's sample photo of Grace Hopper."""
    import matplotlib.cbook

    return Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).read_bytes()


def rss_mib() -> float:
    """Return this process's resident memory in MiB (Linux `/proc/self/status`)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def train_tiny(root: Path) -> Path:
    """Train a smoke-sized run under `root` (a subprocess, as a user would) and return its directory."""
    run = root / "run"
    subprocess.run([sys.executable, "-m", "visage.train", *TINY, f"paths.experiments_dir={root}", f"hydra.run.dir={run}"],
                   cwd=REPO, check=True, capture_output=True)
    return run


class Tally:
    """Answers by status, latencies, and the RSS readings taken as the request count passes `RSS_AT`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.status: Counter[int] = Counter()
        self.latency_s: list[float] = []
        self.total = 0
        self.rss: dict[int, float] = {}

    def add(self, status: int, seconds: float) -> None:
        with self.lock:
            self.status[status] += 1
            self.latency_s.append(seconds)
            self.total += 1
            for mark in RSS_AT:
                if self.total == mark:
                    self.rss[mark] = rss_mib()


def load(url: str, photo: bytes, clients: int, requests: int, overall: Tally) -> tuple[float, Tally]:
    """Post `requests` uploads from `clients` threads at once; return (seconds, this round's tally)."""
    tally = Tally()
    share = [requests // clients + (k < requests % clients) for k in range(clients)]

    def client(n: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            for _ in range(n):
                start = time.perf_counter()
                status = http.post("/predict", files={"file": ("photo.jpg", photo, "image/jpeg")}).status_code
                seconds = time.perf_counter() - start
                tally.add(status, seconds)
                overall.add(status, seconds)

    threads = [threading.Thread(target=client, args=(n,)) for n in share]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, tally


def main() -> None:
    """Time the predictor alone, then the API with each client count; print one row per count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--run", type=Path, default=None, help="a trained run (default: train a tiny one first)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--requests", type=int, default=200, help="uploads per client count")
    parser.add_argument("--direct", type=int, default=50, help="direct predictor calls of the reference")
    parser.add_argument("--max-in-flight", type=int, default=None, help="limits.max_in_flight (default: the config's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run = args.run or train_tiny(Path(scratch))
        predictor = load_predictor(run, WholeImage())
        photo = face_photo()
        image = decode_image(photo, name="grace_hopper.jpg")
        predictor.predict_image(image)  # warm-up
        start = time.perf_counter()
        for _ in range(args.direct):
            predictor.predict_image(decode_image(photo, name="grace_hopper.jpg"))
        direct_rate = args.direct / (time.perf_counter() - start)
        print(f"# predictor alone (decode + predict, this process): {direct_rate:.1f} images/s; RSS {rss_mib():.0f} MiB")
        overall = Tally()
        print(f"{'clients':>7} {'req/s':>8} {'vs alone':>8} {'200':>6} {'503 share':>9} {'other':>5} "
              f"{'p50 ms':>7} {'p95 ms':>7}")
        with running_in_thread(create_app(predictor, max_in_flight=args.max_in_flight)) as url:
            with httpx.Client(base_url=url) as http:  # warm-up through the socket
                http.post("/predict", files={"file": ("photo.jpg", photo, "image/jpeg")})
            for clients in args.clients:
                seconds, tally = load(url, photo, clients, args.requests, overall)
                ok, busy = tally.status.get(200, 0), tally.status.get(503, 0)
                other = tally.total - ok - busy
                rate = ok / seconds
                p50, p95 = (1000 * float(np.percentile(tally.latency_s, q)) for q in (50, 95))
                print(f"{clients:7d} {rate:8.1f} {rate / direct_rate:8.2f} {ok:6d} {busy / tally.total:9.3f} {other:5d} "
                      f"{p50:7.0f} {p95:7.0f}", flush=True)
            while overall.total < max(RSS_AT):  # top up to the last RSS reading with one client
                load(url, photo, 1, min(100, max(RSS_AT) - overall.total), overall)
        readings = ", ".join(f"after {n} requests {mib:.0f} MiB" for n, mib in sorted(overall.rss.items()))
        growth = overall.rss[max(RSS_AT)] - overall.rss[min(RSS_AT)]
        print(f"# RSS: {readings} (growth {growth:+.0f} MiB over {max(RSS_AT) - min(RSS_AT)} requests); "
              f"median latency overall {1000 * statistics.median(overall.latency_s):.0f} ms")


if __name__ == "__main__":
    main()
