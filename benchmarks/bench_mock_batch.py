"""Benchmark: a large /v1/embeddings batch through the mock Batch API, from upload to completed.

    python benchmarks/bench_mock_batch.py                      # 50,000 requests, 768 dims, float
    python benchmarks/bench_mock_batch.py --encoding base64
    python benchmarks/bench_mock_batch.py --requests 10000     # peak memory must not grow with size

Each run happens in a fresh child process (so its peak RSS is its own): it uploads the input file,
creates the batch and polls until it is completed, with the output written. The input (~120-word
texts drawn from a fixed vocabulary, seeded) is generated beforehand and is not timed. Reported:
wall time of upload → completed, the CPU time it took (this process and its workers: the figure to
compare on a busy machine), the parent's peak RSS and the largest worker's peak RSS.
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parent.parent
WORDS_PER_INPUT = 120
_SYLLABLES = (
    "ka", "lo", "mi", "ne", "ru", "sa", "ti", "ve", "zo", "pa", "qui", "der",
    "mon", "tel", "gra", "fin", "hub", "dev", "ops", "net", "sys", "app", "log",
)  # fmt: skip


def vocabulary(size: int, rng: random.Random) -> list[str]:
    words = {"python", "django", "postgresql", "kubernetes", "nurse", "accountant", "react", "teacher", "sales"}
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def write_input(path: Path, requests: int, dimensions: int, encoding: str, seed: int = 7) -> None:
    rng = random.Random(seed)
    words = vocabulary(5_000, rng)
    with path.open("wb") as handle:
        for index in range(requests):
            text = " ".join(rng.choices(words, k=WORDS_PER_INPUT)).capitalize() + "."
            body = {"model": "text-embedding-3-small", "input": text, "dimensions": dimensions}
            if encoding == "base64":
                body["encoding_format"] = "base64"
            line = {"custom_id": f"cv-embed-{index}", "method": "POST", "url": "/v1/embeddings", "body": body}
            handle.write(orjson.dumps(line) + b"\n")


def run_once(input_path: Path, root: Path, workers: int | None) -> dict:
    """The timed part, in this (child) process."""
    sys.path.insert(0, str(REPO))
    from benchmarks.harness import cpu_seconds
    from core.mock_openai.client import MockOpenAIClient

    client = MockOpenAIClient(root=root, failure_rate=0.05, seed=0, latency=0, workers=workers)
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    with input_path.open("rb") as handle:
        uploaded = client.files.create(file=handle, purpose="batch")
    uploaded_at = time.perf_counter()
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    while batch.status not in ("completed", "failed", "expired", "cancelled"):
        batch = client.batches.retrieve(batch.id)
    finished = time.perf_counter()
    cpu_used = cpu_seconds() - cpu_before
    output = client.files.retrieve(batch.output_file_id)
    return {
        "status": batch.status,
        "requests": batch.request_counts.total,
        "completed": batch.request_counts.completed,
        "failed": batch.request_counts.failed,
        "output_mb": round(output.bytes / 1e6, 1),
        "upload_s": round(uploaded_at - started, 3),
        "total_s": round(finished - started, 3),
        "cpu_s": round(cpu_used, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "worker_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--dimensions", type=int, default=768)
    parser.add_argument("--encoding", choices=("float", "base64"), default="float")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: the cores available)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("INPUT", "ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_once(Path(args.child[0]), Path(args.child[1]), args.workers)))
        return

    with tempfile.TemporaryDirectory(prefix="bench-mock-batch-") as scratch:
        input_path = Path(scratch) / "input.jsonl"
        write_input(input_path, args.requests, args.dimensions, args.encoding)
        print(
            f"input: {args.requests} requests, {input_path.stat().st_size / 1e6:.1f} MB, {args.encoding}, "
            f"{args.dimensions} dims, {os.cpu_count()} cores"
        )
        for attempt in range(args.repeat):
            root = Path(scratch) / f"root-{attempt}"
            command = [sys.executable, __file__, "--child", str(input_path), str(root)]
            if args.workers:
                command += ["--workers", str(args.workers)]
            result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            print(json.dumps(result))
            subprocess.run(["rm", "-rf", str(root)], check=True)


if __name__ == "__main__":
    main()
