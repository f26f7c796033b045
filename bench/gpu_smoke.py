"""GPU smoke benchmark: time each stage of the GPU backend at 1M and 10M rows and check it
against the CPU backend on the same points. Prints one table; run it on a GPU instance:

    python bench/gpu_smoke.py                       # 1M and 10M rows, about 10-20 min
    python bench/gpu_smoke.py --rows 1000000 --no-cpu --out bench/results/gpu_smoke.json

Data: Gaussian segments in ``--dims`` dimensions plus 3 % uniform noise (known truth). Stages:
host-to-device copy, UMAP to 5-D (nn-descent kNN graph above 50k rows), the k-distance curve
and its knee, DBSCAN (rbc), silhouette on a sample, trustworthiness on a sample, Davies-Bouldin
and Calinski-Harabasz on all clustered points, device-to-host copy. Parity, on the GPU
embedding: CPU k-distances on a sample of query points and CPU DBSCAN labels (ARI).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score

from seglab.backend import gpu_status
from seglab.backend.cpu import CpuBackend
from seglab.eps import knee

MIN_SAMPLES = 10
N_NEIGHBORS = 30
SILHOUETTE_SAMPLE = 20_000
TRUST_SAMPLE = 10_000
PARITY_QUERIES = 20_000


def make_points(n_rows: int, dims: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n_rows`` points in ``dims`` dimensions: 12 segments of varied spread, 3 % noise."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-30, 30, size=(12, dims)).astype(np.float32)
    spread = np.linspace(0.8, 2.0, 12, dtype=np.float32)
    truth = rng.integers(0, 12, size=n_rows)
    X = centres[truth] + rng.standard_normal((n_rows, dims), dtype=np.float32) * spread[truth, None]
    noise = rng.random(n_rows) < 0.03
    X[noise] = rng.uniform(-35, 35, size=(int(noise.sum()), dims)).astype(np.float32)
    truth[noise] = -1
    return X, truth


class Timer:
    """Seconds per stage, with the device synchronised so that GPU work is counted."""

    def __init__(self, sync: Callable[[], None]) -> None:
        self.sync = sync
        self.seconds: dict[str, float] = {}

    def __call__(self, stage: str, work: Callable[[], Any]) -> Any:
        self.sync()
        start = time.perf_counter()
        result = work()
        self.sync()
        self.seconds[stage] = time.perf_counter() - start
        return result


def run_size(gpu: Any, n_rows: int, dims: int, check_cpu: bool) -> dict[str, Any]:
    """Every stage at ``n_rows`` rows; returns timings, results and parity."""
    import cupy as cp

    X, truth = make_points(n_rows, dims)
    timer = Timer(cp.cuda.runtime.deviceSynchronize)
    rng = np.random.default_rng(1)
    data = timer("to_device", lambda: gpu.asarray(X))
    embedding, _ = timer("umap", lambda: gpu.umap_fit(
        data, n_components=5, n_neighbors=N_NEIGHBORS, min_dist=0.0, n_epochs=None, seed=0))
    distances, _ = timer("k_distance", lambda: gpu.kneighbors(embedding, MIN_SAMPLES))
    curve, _, at = knee(np.sort(gpu.to_numpy(distances[:, -1])), 1000, 0.0)
    eps = float(curve[at])
    labels, _ = timer("dbscan", lambda: gpu.dbscan(embedding, eps=eps, min_samples=MIN_SAMPLES))
    host_labels = timer("to_host", lambda: (gpu.to_numpy(labels), gpu.to_numpy(embedding)))[0]
    clustered = np.flatnonzero(host_labels >= 0)
    sample = rng.choice(clustered, min(SILHOUETTE_SAMPLE, len(clustered)), replace=False)
    silhouette = timer("silhouette", lambda: float(gpu.silhouette_samples(
        embedding[cp.asarray(sample)], labels[cp.asarray(sample)]).mean()))
    rows = cp.asarray(rng.choice(n_rows, TRUST_SAMPLE, replace=False))
    trust = timer("trustworthiness", lambda: gpu.trustworthiness(
        data[rows], embedding[rows], n_neighbors=15))
    on_device = cp.asarray(clustered)
    db = timer("davies_bouldin", lambda: gpu.davies_bouldin(embedding[on_device],
                                                            labels[on_device]))
    ch = timer("calinski_harabasz", lambda: gpu.calinski_harabasz(embedding[on_device],
                                                                  labels[on_device]))
    result = {"rows": n_rows, "dims": dims, "seconds": timer.seconds, "eps": eps,
              "n_clusters": int(host_labels.max()) + 1,
              "noise_fraction": float((host_labels < 0).mean()), "silhouette": silhouette,
              "trustworthiness": trust, "davies_bouldin": db, "calinski_harabasz": ch,
              "ari_truth": float(adjusted_rand_score(truth, host_labels))}
    if check_cpu:
        result.update(cpu_parity(gpu, embedding, distances, host_labels, eps, rng))
    return result


def cpu_parity(gpu: Any, embedding: Any, distances: Any, labels: np.ndarray, eps: float,
               rng: np.random.Generator) -> dict[str, float]:
    """CPU backend on the GPU embedding: k-distance error on sampled queries, DBSCAN ARI."""
    cpu = CpuBackend(reason="parity")
    points = gpu.to_numpy(embedding)
    queries = rng.choice(len(points), PARITY_QUERIES, replace=False)
    cpu_distances, _ = cpu.kneighbors(points, MIN_SAMPLES, query=points[queries])
    gpu_distances = gpu.to_numpy(distances)[queries]
    start = time.perf_counter()
    cpu_labels, _ = cpu.dbscan(points, eps=eps, min_samples=MIN_SAMPLES)
    return {"kdist_max_abs_err": float(np.abs(cpu_distances - gpu_distances).max()),
            "ari_cpu_dbscan": float(adjusted_rand_score(cpu_labels, labels)),
            "cpu_dbscan_seconds": time.perf_counter() - start}


def table(results: list[dict[str, Any]]) -> str:
    """One Markdown table: a row per size, seconds per stage, then quality and parity."""
    stages = list(results[0]["seconds"])
    extra = [k for k in ("n_clusters", "noise_fraction", "silhouette", "trustworthiness",
                         "ari_truth", "ari_cpu_dbscan", "kdist_max_abs_err", "cpu_dbscan_seconds")
             if k in results[0]]
    head = ["rows", *(f"{s} s" for s in stages), "total s", *extra]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [f"{r['rows']:,}", *(f"{r['seconds'][s]:.2f}" for s in stages),
                 f"{sum(r['seconds'].values()):.1f}",
                 *(f"{r[k]:.4g}" if isinstance(r[k], float) else str(r[k]) for k in extra)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, run each size, print the table (and write JSON with ``--out``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--dims", type=int, default=20)
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU parity checks")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    usable, why = gpu_status()
    if not usable:
        raise SystemExit(f"gpu_smoke: no usable GPU backend: {why}")
    from seglab.backend.gpu import GpuBackend

    gpu = GpuBackend(reason=why)
    results = [run_size(gpu, n, args.dims, not args.no_cpu) for n in args.rows]
    print(f"seglab GPU smoke on {gpu.device}, {args.dims} dims, min_samples {MIN_SAMPLES}\n")
    print(table(results))
    failed = [r["rows"] for r in results if r.get("ari_cpu_dbscan", 1.0) < 0.95]
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"device": gpu.device, "results": results}, indent=2))
    if failed:
        raise SystemExit(f"gpu_smoke: DBSCAN parity with the CPU below ARI 0.95 at {failed} rows")


if __name__ == "__main__":
    main()
