"""Property-based tests (Hypothesis): no file the importers can be given crashes them (issue 9).

Job files are CSV and JSON Lines built from rows with one known fault each (none, a NUL, a field over
its limit, a field over the reader's line limit, bytes that are not UTF-8 at any offset of a field, a
missing field, a repeated external_id, a truncated last line), then also random byte mutations of such
files and random bytes. CV folders hold text, Markdown and PDF files with random or mutated bytes,
hidden files, subfolders, symbolic links (inside and outside the folder) and named pipes.

Properties: no exception escapes ``import_jobs_file`` / ``import_cv_files`` (``UnreadableFile`` only
when nothing was read); every row (job files) / every file (CVs) is accounted for exactly once as
created, updated, duplicate or rejected; a row with a fault is rejected on its own line and every other
row is imported; no link is ever followed.

CI runs a fixed, derandomised budget; set RECRUIT_FUZZ_EXAMPLES (e.g. 1000) for a longer, random run.
With `-s` each test prints what it saw.
"""

import csv
import io
import os
import tempfile
from collections import Counter
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.importing.cvs import import_cv_files
from core.importing.files import shown
from core.importing.jobs import MAX_CHARS, MAX_LINE, MAX_SKILL_CHARS, MAX_SKILLS, UnreadableFile, import_jobs_file
from core.models import CV, Job
from tests.fuzz_budget import FUZZ
from tests.test_importers import _pdf_bytes

pytestmark = pytest.mark.django_db

SEEN: Counter = Counter()  # what the runs saw, printed with -s

# --- job rows with a known fault --------------------------------------------------------------------
BAD = "\U0010fffd"  # placeholder, replaced in the written bytes by a sequence that is not UTF-8
HUGE = "\U0010fffe"  # placeholder, replaced in the written bytes by a field over the reader's line limit
NOT_UTF8 = [b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\xe2\x82", b"\x80", b"\xf0\x9f\x98"]
SAFE = st.text(alphabet=st.sampled_from("abcXYZ019 -.,;\"'/\\é€😀\t\n"), max_size=30)
WORD = st.text(alphabet=st.sampled_from("abcXYZ019 -.é€😀"), min_size=1, max_size=12).filter(str.strip)
FAULTS = [
    None,
    None,
    None,
    "nul",
    "long_title",
    "long_company",
    "long_location",
    "long_id",
    "long_description",
    "huge_field",
    "bad_utf8",
    "missing_title",
    "duplicate_id",
    "too_many_skills",
    "long_skill",
    "truncated",
]


@st.composite
def job_rows(draw):
    """(rows, faults): a row is a dict of strings, its fault what should get it rejected (None: imported)."""
    rows, faults = [], []
    count = draw(st.integers(1, 8))
    for index in range(count):
        row = {
            "external_id": f"J{index}-{draw(WORD).strip()}",
            "title": draw(WORD).strip(),
            "company": draw(SAFE),
            "location": draw(SAFE),
            "description": draw(WORD).strip() + draw(SAFE),
            "skills": [draw(WORD).strip() for _ in range(draw(st.integers(0, 4)))],
        }
        fault = draw(st.sampled_from(FAULTS))
        good = [earlier for earlier, its_fault in zip(rows, faults, strict=True) if its_fault is None]
        if fault == "duplicate_id" and not good or fault == "truncated" and index < count - 1:
            fault = None  # no earlier imported row to repeat / only the last line can be cut short
        field = draw(st.sampled_from(["external_id", "title", "company", "location", "description"]))
        if fault == "nul":
            at = draw(st.integers(0, len(row[field])))
            row[field] = row[field][:at] + "\x00" + row[field][at:] + "x"
        elif fault == "bad_utf8":
            at = draw(st.integers(0, len(row[field])))
            row[field] = row[field][:at] + BAD + row[field][at:]
        elif fault and fault.startswith("long_") and fault[5:] in ("title", "company", "location", "description"):
            name = fault[5:]
            row[name] = "y" * (MAX_CHARS[name] + draw(st.integers(1, 3)))
        elif fault == "long_id":
            row["external_id"] = "J" * (MAX_CHARS["external_id"] + 1)
        elif fault == "huge_field":
            at = draw(st.integers(0, len(row[field])))
            row[field] = row[field][:at] + HUGE + row[field][at:]
        elif fault == "missing_title":
            row["title"] = draw(st.sampled_from(["", "  ", "\t"]))
        elif fault == "duplicate_id":
            row["external_id"] = draw(st.sampled_from(good))["external_id"]  # the first one wins
        elif fault == "too_many_skills":
            row["skills"] = [f"s{n}" for n in range(MAX_SKILLS + 1)]
        elif fault == "long_skill":
            row["skills"] = ["k" * (MAX_SKILL_CHARS + 1)]
        rows.append(row)
        faults.append(fault)
    return rows, faults


def _bad_bytes(data: bytes, draw) -> bytes:
    data = data.replace(HUGE.encode(), b"z" * (MAX_LINE + 1))
    while BAD.encode() in data:
        data = data.replace(BAD.encode(), draw(st.sampled_from(NOT_UTF8)), 1)
    return data


def _as_jsonl(rows, faults, draw) -> tuple[bytes, list[int]]:
    lines, starts = [], []
    for row, fault in zip(rows, faults, strict=True):
        if draw(st.booleans()) and lines:
            lines.append(draw(st.sampled_from([b"", b"  ", b"\r"])))  # blank lines are skipped, not rows
        line = _bad_bytes(orjson.dumps(row), draw)
        if fault == "truncated":
            line = line[: draw(st.integers(1, len(line) - 1))]
        starts.append(len(lines) + 1)
        lines.append(line)
    return b"\n".join(lines) + draw(st.sampled_from([b"\n", b"", b"\r\n"])), starts


def _as_csv(rows, faults, draw) -> tuple[bytes, list[int]]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=draw(st.sampled_from([csv.QUOTE_ALL, csv.QUOTE_MINIMAL])))
    writer.writerow(["external_id", "title", "company", "location", "description", "skills"])
    starts, line = [], 2
    for row, fault in zip(rows, faults, strict=True):
        values = [row[name] for name in ("external_id", "title", "company", "location", "description")]
        values.append(draw(st.sampled_from([", ", ";"])).join(row["skills"]))
        if fault == "truncated":  # a CSV line cut short can still be a valid row: break its last line instead
            values[1] = values[1] + BAD
        starts.append(line)
        before = out.tell()
        writer.writerow(values)
        line += out.getvalue()[before:].count("\n")
    return _bad_bytes(out.getvalue().encode(), draw), starts


def _fresh():
    Job.objects.all().delete()
    CV.objects.all().delete()


def _check_report(path: Path, report, expected_records: int | None = None):
    lines = [where.rsplit(":", 1)[1] for where, _ in report.rejected]
    assert len(lines) == len(set(lines)), report.rejected  # no row rejected twice
    assert all(why for _, why in report.rejected)
    assert Job.objects.count() == report.created  # the table was empty: nothing updated by another file
    if expected_records is not None:
        assert report.created + report.updated + report.duplicates + len(report.rejected) == expected_records


@FUZZ
@given(shape=job_rows(), kind=st.sampled_from(["csv", "jsonl"]), data=st.data())
def test_job_files_reject_exactly_the_bad_rows(shape, kind, data):
    rows, faults = shape
    _fresh()
    content, starts = (_as_csv if kind == "csv" else _as_jsonl)(rows, faults, data.draw)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"jobs.{kind}"
        path.write_bytes(content)
        report = import_jobs_file(path)
    _check_report(path, report, expected_records=len(rows))
    rejected = {int(where.rsplit(":", 1)[1]): why for where, why in report.rejected}
    for row, fault, start in zip(rows, faults, starts, strict=True):
        SEEN[f"{kind} {fault or 'good'} {'rejected' if start in rejected else 'imported'}"] += 1
        if fault is None:
            assert start not in rejected, (start, rejected)
            assert Job.objects.filter(external_id=row["external_id"].strip()).exists()
        else:
            assert start in rejected, (fault, start, rejected)
            if fault == "duplicate_id":
                assert rejected[start].startswith("duplicate external_id")
    assert report.created == faults.count(None)


@st.composite
def mutated_job_files(draw):
    rows, faults = draw(job_rows())
    kind = draw(st.sampled_from(["csv", "jsonl", "json"]))
    if kind == "json":
        content = orjson.dumps(rows)
    else:
        content, _ = (_as_csv if kind == "csv" else _as_jsonl)(rows, faults, draw)
    content = bytearray(content)
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(content)))
        piece = draw(
            st.one_of(
                st.sampled_from([b"\x00", b"\xff", b"\n", b"\r", b'"', b",", b"{", b"\xef\xbb\xbf"]),
                st.binary(max_size=8),
            )
        )
        if draw(st.booleans()):
            content[at:at] = piece
        else:
            content[at : at + len(piece)] = piece
    return kind, bytes(content)


@FUZZ
@given(
    case=st.one_of(
        mutated_job_files(),
        st.tuples(st.sampled_from(["csv", "jsonl", "json"]), st.binary(max_size=400)),
    )
)
def test_random_job_files_never_crash_and_account_for_every_record(case):
    kind, content = case
    _fresh()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"jobs.{kind}"
        path.write_bytes(content)
        try:
            report = import_jobs_file(path)
        except UnreadableFile:
            assert not Job.objects.exists()  # raised only before anything was imported
            SEEN[f"{kind} unreadable"] += 1
            return
    records = None
    if kind == "jsonl":  # counted independently: every line that is not blank is one record
        physical = content.split(b"\n")
        if physical[0].startswith(b"\xef\xbb\xbf"):
            physical[0] = physical[0][3:]
        records = sum(1 for line in physical if line.strip())
    _check_report(path, report, expected_records=records)
    SEEN[f"{kind} read: {report.created} created, {len(report.rejected)} rejected"[:40]] += 1


# --- CV folders -----------------------------------------------------------------------------------------
CV_CONTENT = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=80).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.sampled_from(["Ada Lovelace\nAnalyst", "  \n", "", "\ufeffGrace Hopper"]).map(str.encode),
    st.tuples(st.sampled_from(["Alan Turing", "Katherine Johnson"]), st.binary(max_size=3)).map(
        lambda pair: pair[0].encode() + pair[1]
    ),
    st.just(None),  # a PDF, possibly mutated
)
NAMES = st.tuples(
    st.sampled_from(["cv", "a b", ".hidden", "ünï", "x" * 240, "bad\udcff"]),
    st.sampled_from([".txt", ".md", ".pdf", ".PDF", ".png", ""]),
)


@st.composite
def cv_folders(draw):
    entries = []  # (relative path, kind, content)
    count = draw(st.integers(1, 8))
    for index in range(count):
        content = draw(CV_CONTENT)
        stem, suffix = draw(NAMES)
        if content is None and draw(st.booleans()):
            suffix = ".pdf"
        sub = draw(st.sampled_from(["", "sub/", ".git/", "sub/deeper/"]))
        name = f"{sub}{stem}{index}{suffix}"
        kind = draw(st.sampled_from(["file", "file", "file", "link_out", "link_in", "link_dir", "fifo"]))
        if content is None:
            pdf = bytearray(_pdf_bytes(draw(st.sampled_from(["Grace Hopper", "Edsger Dijkstra"]))))
            for _ in range(draw(st.integers(0, 4))):
                at = draw(st.integers(0, len(pdf)))
                pdf[at : at + 1] = draw(st.binary(min_size=1, max_size=4))
            content = bytes(pdf)
        entries.append((name, kind, content))
    return entries


def _expected_text(content: bytes, suffix: str) -> str | None:
    """What import_cvs should store for a .txt/.md file with ``content``, None when it must be rejected."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    text = text.replace("\r\n", "\n").strip()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text or None


@FUZZ
@given(entries=cv_folders(), explicit=st.booleans())
def test_cv_folders_never_crash_never_follow_links_and_account_for_every_file(entries, explicit):
    _fresh()
    with tempfile.TemporaryDirectory() as root:
        root = Path(root)
        secret = root / "secret.txt"
        secret.write_text("SECRET_KEY=outside-the-folder")
        (root / "outside").mkdir()
        (root / "outside" / "other.txt").write_text("Outside Person")
        folder = root / "cvs"
        folder.mkdir()
        visible, links = [], []
        for name, kind, content in entries:
            path = folder / os.fsdecode(os.fsencode(name))
            path.parent.mkdir(parents=True, exist_ok=True)
            if kind == "file":
                path.write_bytes(content)
            elif kind == "link_out":
                path.symlink_to(secret)
            elif kind == "link_in":
                path.symlink_to(folder)
            elif kind == "link_dir":
                path.symlink_to(root / "outside", target_is_directory=True)
            else:
                os.mkfifo(path)
            if not any(part.startswith(".") for part in path.relative_to(folder).parts):
                visible.append((path, kind, content))
                if kind != "file":
                    links.append(path)
        given_paths = [path for path, _, _ in visible] if explicit else [folder]
        report = import_cv_files(given_paths)
    assert report.created + report.duplicates + len(report.rejected) == len(visible)
    assert CV.objects.count() == report.created
    assert not CV.objects.filter(raw_text__contains="SECRET_KEY").exists()
    assert not CV.objects.filter(raw_text__contains="Outside Person").exists()
    rejected = dict(report.rejected)
    assert len(rejected) == len(report.rejected)  # each file once
    for path in links:
        assert "only regular files are imported" in rejected[shown(path)]
    stored = set(CV.objects.values_list("raw_text", flat=True))
    for path, kind, content in visible:
        if kind != "file" or path.suffix.lower() not in (".txt", ".md"):
            continue
        text = _expected_text(content, path.suffix)
        if text is None:
            assert shown(path) in rejected, path
        else:
            assert text in stored, path
    for path, _, _ in visible:
        SEEN[f"cv {path.suffix.lower() or '-'} {'rejected' if shown(path) in rejected else 'read'}"] += 1


def teardown_module():
    if SEEN:
        print("\nimporter fuzz saw:")
        for key, count in sorted(SEEN.items()):
            print(f"  {count:6d}  {key}")
