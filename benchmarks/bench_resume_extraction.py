"""The mock's CV parse heuristics (extract_resume) alone, by process CPU time per CV.

    python -m benchmarks.bench_resume_extraction [--cvs 10000] [REAL ...]

The CVs are the ones benchmarks/bench_pipeline.py imports (its write_cvs, same count and seed), written
to a temporary folder and read back. Each REAL is a CSV file of CVs as bench_match_quality reads it (a
category column and a text column) or a folder searched for .txt and .md files.
Parsing runs in this process only, so its CPU time (best of 3 rounds) barely moves with other load on
the machine, unlike wall time. Also reported: the part of it spent repairing mis-decoded text with ftfy
(repair_mojibake), which no heuristic can shorten.
"""

import argparse
import random
import tempfile
import time
from pathlib import Path

from benchmarks.bench_match_quality import TEXT_COLUMNS, read_collection
from benchmarks.bench_pipeline import write_cvs
from core.mock_openai.generators.heuristics.resume_extraction import extract_resume, repair_mojibake

ROUNDS = 3
TEXT_SUFFIXES = (".txt", ".md")


def generated_cvs(count: int) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="recruit-bench-cvs-") as folder:
        write_cvs(Path(folder), count, random.Random(7))
        return [path.read_text() for path in sorted(Path(folder).iterdir())]


def real_cvs(path: Path) -> list[str]:
    if path.is_dir():
        files = sorted(file for file in path.rglob("*") if file.suffix.lower() in TEXT_SUFFIXES)
        return [file.read_text(encoding="utf-8", errors="replace") for file in files]
    if path.suffix.lower() != ".csv":
        raise SystemExit(f"{path}: expected a folder or a CSV file (text column one of {TEXT_COLUMNS})")
    return [text for _, _, text in read_collection(path)]


def cpu_per_cv(function, texts: list[str]) -> float:
    """Best of ROUNDS, in milliseconds of this process's CPU time per text."""
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        for text in texts:
            function(text)
        best = min(best, time.process_time() - started)
    return best / len(texts) * 1000


def report(label: str, texts: list[str]) -> None:
    total = cpu_per_cv(extract_resume, texts)
    repair = cpu_per_cv(lambda text: repair_mojibake(text.replace("\r\n", "\n")), texts)
    print(f"{label}: {len(texts)} CVs, {total:.3f} ms of CPU a CV ({repair:.3f} ms of it repairing mojibake)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cvs", type=int, default=10_000)
    parser.add_argument("real", nargs="*", type=Path, help="a CSV file or folder of real CVs")
    args = parser.parse_args()
    report("bench_pipeline's generated CVs (write_cvs, seed 7)", generated_cvs(args.cvs))
    for path in args.real:
        report(str(path), real_cvs(path))


if __name__ == "__main__":
    main()
