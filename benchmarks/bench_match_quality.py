"""Match and parse quality on labelled real CVs, through the real pipeline.

    python -m benchmarks.bench_match_quality CVS JOBS [--backend mock|openai] [--no-names]

CVS is a CSV file with a category column (`Category`) and a text column (`Resume`, `Resumes` or
`Resume_str`), or a folder with one sub-folder of CV files (.txt, .md, .pdf) per category. JOBS is a
jobs file `import_jobs` reads, with one job per category whose `external_id` is the category's name
(benchmarks/data/ has the ones written for the public collections named in docs/BENCHMARKS.md; the CV
data itself stays outside the repository, its licences being unclear).

The path is the one a user takes: the CVs are written to files and imported with `import_cv_files`
(so exact duplicates collapse, as they would), the jobs with `import_jobs_file`, then `run_pipeline`
parses, embeds, matches and explains on a throwaway embedded database. Reported:

- top-1 / top-3 category accuracy: the share of CVs whose own category's job ranks first / in the top 3;
- parse field coverage: the share of CVs whose profile has a name, an email, skills, work entries;
- skills found where listed: among the CVs whose text has a skills heading followed by some text (not
  straight by another heading), the share whose profile has skills;
- false names: names that are section headings or job titles, or contain digits, institution or address
  words;
  with --no-names (a collection whose CVs carry no names) every reported name is counted as false;
- the strength word each top-1 explanation uses against the share of the job's skills it found.

The mock is the default backend; `--backend openai` uses OpenAI's Batch API (needs OPENAI_API_KEY and
can take up to the 24 h completion window).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

from benchmarks.harness import setup_django

TEXT_COLUMNS = ("Resume", "Resumes", "Resume_str", "resume", "text")
CATEGORY_COLUMNS = ("Category", "category", "label")
CV_SUFFIXES = (".txt", ".md", ".pdf")
SKILLS_HEADING_RE = re.compile(
    r"(?im)(?:^|[.:*•]\s*|details\s*)\b(?:technical\s+|key\s+|core\s+|it\s+)?skill(?:s|\s+set|\s+details)\b"
)
HEADING_WORDS = re.compile(
    r"(?i)\b(?:education|skills?|details|experience|summary|objective|profile|projects?|company|employment|"
    r"qualifications?|curriculum|vitae|resume|declaration|personal|hobbies|languages?|certifications?|"
    r"achievements?|responsibilities|contact|career|developer|engineer|admin|administrat\w*|consultant|manager|"
    r"analyst)\b"
)
PLACE_WORDS = re.compile(
    r"(?i)\b(?:college|university|school|institute|road|street|nagar|district|pvt|ltd|limited|maharashtra|"
    r"india|pune|mumbai|delhi|hsc|ssc)\b"
)
STRENGTH_RE = re.compile(r"\bthis is (a \w+) match\b")


def read_collection(path: Path) -> list[tuple[str, str, str | Path]]:
    """(category, file name, text or file) for each CV of a CSV file or a folder of category folders."""
    if path.is_dir():
        return [
            (folder.name, f"{folder.name}--{file.name}", file)
            for folder in sorted(p for p in path.iterdir() if p.is_dir())
            for file in sorted(folder.iterdir())
            if file.suffix.lower() in CV_SUFFIXES
        ]
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        text_column = next((c for c in TEXT_COLUMNS if c in columns), None)
        category_column = next((c for c in CATEGORY_COLUMNS if c in columns), None)
        if not text_column or not category_column:
            raise SystemExit(f"{path}: needs a category column {CATEGORY_COLUMNS} and a text column {TEXT_COLUMNS}")
        return [
            (row[category_column].strip(), f"row-{number:05d}.txt", row[text_column])
            for number, row in enumerate(reader, start=2)
        ]


def write_cv_files(collection: list[tuple[str, str, str | Path]], folder: Path) -> dict[str, str]:
    """Each CV as a file to import; returns the category of each file name."""
    categories = {}
    for category, name, text_or_file in collection:
        target = folder / name
        if isinstance(text_or_file, Path):
            target.write_bytes(text_or_file.read_bytes())
        else:
            target.write_text(text_or_file, encoding="utf-8")
        categories[name] = category
    return categories


def lists_skills_in(text: str) -> bool:
    """Whether the text has a skills heading with something after it ("Skill Details" followed straight
    by "Company Details", as many text dumps have, lists none)."""
    for match in SKILLS_HEADING_RE.finditer(text):
        following = text[match.end() : match.end() + 200].lstrip(" :*•-\t\r\n")
        if re.match(r"[^\W\d_]{2}", following) and not re.match(r"(?i)(company|education) details", following):
            return True
    return False


def is_false_name(name: str, no_names: bool) -> bool:
    if not name:
        return False
    return no_names or bool(HEADING_WORDS.search(name) or PLACE_WORDS.search(name) or re.search(r"\d", name))


def share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "0/0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cvs", type=Path, help="CSV with category and text columns, or a folder of category folders")
    parser.add_argument("jobs", type=Path, help="jobs file; each job's external_id is a category")
    parser.add_argument("--backend", choices=("mock", "openai"), default="mock")
    parser.add_argument("--no-names", action="store_true", help="the CVs carry no names: every name found is false")
    parser.add_argument("--show-errors", type=int, default=0, help="print this many misranked CVs")
    args = parser.parse_args()
    if args.backend == "openai" and not os.environ.get("OPENAI_API_KEY"):
        raise SystemExit("--backend openai needs OPENAI_API_KEY")
    scratch = setup_django(USE_MOCK_BATCH="true" if args.backend == "mock" else "false")

    from core.importing.cvs import import_cv_files
    from core.importing.jobs import import_jobs_file
    from core.models import CV, Prediction
    from core.services.batch_service import BatchService
    from core.workflow.runner import run_pipeline

    folder = scratch / "cv-files"
    folder.mkdir()
    categories = write_cv_files(read_collection(args.cvs), folder)
    started = time.perf_counter()
    cvs = import_cv_files([folder])
    jobs = import_jobs_file(args.jobs)
    if jobs.rejected or not jobs.created:
        raise SystemExit(f"jobs file: {jobs.created} imported, rejected {jobs.rejected}")
    result = run_pipeline(BatchService(use_mock=args.backend == "mock"), wait=True, poll_interval=0.5)
    elapsed = time.perf_counter() - started
    if not result.finished:
        raise SystemExit("the pipeline did not finish")

    ranked: dict[int, list[tuple[str, float, str]]] = {}
    for cv_id, job_id, score, explanation in Prediction.objects.order_by("cv_id", "rank").values_list(
        "cv_id", "job__external_id", "score", "explanation"
    ):
        ranked.setdefault(cv_id, []).append((job_id, score, explanation))
    rows = list(CV.objects.values_list("pk", "source_name", "raw_text", "parsed"))
    labelled = [(pk, categories[Path(source).name], text, parsed or {}) for pk, source, text, parsed in rows]
    top1 = sum(1 for pk, category, _, _ in labelled if ranked.get(pk, [("",)])[0][0] == category)
    top3 = sum(1 for pk, category, _, _ in labelled if category in [job for job, _, _ in ranked.get(pk, [])[:3]])
    count = len(labelled)

    def has(parsed: dict, field: str) -> bool:
        return bool((parsed.get("basics") or {}).get(field)) if field in ("name", "email") else bool(parsed.get(field))

    lists_skills = [(text, parsed) for _, _, text, parsed in labelled if lists_skills_in(text)]
    names = [(parsed.get("basics") or {}).get("name") or "" for _, _, _, parsed in labelled]
    false_names = [name for name in names if is_false_name(name, args.no_names)]
    strengths = Counter(
        (match[1] if (match := STRENGTH_RE.search(ranked[pk][0][2])) else "none") for pk, *_ in labelled if pk in ranked
    )
    top_scores = sorted(ranked[pk][0][1] for pk, *_ in labelled if pk in ranked)

    print(
        f"{args.cvs.name}: {count} distinct CVs ({cvs.duplicates} duplicates, {len(cvs.rejected)} rejected), "
        f"{jobs.created} jobs, backend {args.backend}, {elapsed:.1f} s import to explanations"
    )
    print(f"  top-1 category accuracy   {share(top1, count)}")
    print(f"  top-3 category accuracy   {share(top3, count)}")
    for field in ("name", "email", "skills", "work"):
        print(f"  {field:<25} {share(sum(has(parsed, field) for *_, parsed in labelled), count)}")
    print(f"  skills where listed       {share(sum(has(p, 'skills') for _, p in lists_skills), len(lists_skills))}")
    print(f"  false names               {share(len(false_names), count)} {false_names[:5]}")
    if top_scores:
        print(
            f"  top-1 score min/median/max {top_scores[0]:.2f} / {top_scores[len(top_scores) // 2]:.2f} / "
            f"{top_scores[-1]:.2f}; top-1 explanations say: {dict(strengths)}"
        )
    misses = [
        (category, ranked.get(pk, [("none",)])[0][0])
        for pk, category, _, _ in labelled
        if ranked.get(pk, [("",)])[0][0] != category
    ]
    for category, predicted in misses[: args.show_errors]:
        print(f"  missed: {category} -> {predicted}")


if __name__ == "__main__":
    main()
