"""import_cvs and import_jobs: counts, duplicates and the reason for every rejected file or row."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.models import CV, EmbeddingStatus, Job

pytestmark = pytest.mark.django_db


def _pdf_bytes(text: str) -> bytes:
    """A one-page PDF with ``text``, built by hand so the test needs no PDF writer."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def run(command, *args):
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_import_cvs_counts_created_duplicates_and_rejects_with_reasons(tmp_path):
    folder = tmp_path / "cvs"
    folder.mkdir()
    (folder / "ada.txt").write_text("Ada Lovelace\nAnalyst\nada@example.com")
    (folder / "ada-copy.md").write_text("Ada Lovelace\nAnalyst\nada@example.com")
    (folder / "grace.pdf").write_bytes(_pdf_bytes("Grace Hopper, Compiler Engineer"))
    (folder / "empty.txt").write_text("   \n")
    (folder / "latin1.txt").write_bytes("Jos\xe9 Garc\xeda".encode("latin-1"))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n")
    (folder / "binary.txt").write_bytes(b"abc\x00def")
    output = run("import_cvs", str(folder))
    assert "CVs: 2 created, 1 duplicate, 5 rejected" in output
    assert f"rejected {folder / 'empty.txt'}: empty" in output
    assert f"rejected {folder / 'latin1.txt'}: not text: not valid UTF-8" in output
    assert f"rejected {folder / 'broken.pdf'}: unreadable PDF" in output
    assert f"rejected {folder / 'photo.png'}: unsupported file type .png" in output
    assert f"rejected {folder / 'binary.txt'}: not text: contains NUL bytes" in output
    assert "Grace Hopper" in CV.objects.get(source_name="grace.pdf").raw_text

    again = run("import_cvs", str(folder / "ada.txt"), str(folder / "grace.pdf"))
    assert "CVs: 0 created, 2 duplicate, 0 rejected" in again
    assert CV.objects.count() == 2


def test_import_cvs_fails_only_when_nothing_could_be_read(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(CommandError, match="no CV could be read"):
        run("import_cvs", str(tmp_path / "empty.txt"))
    with pytest.raises(CommandError, match="no such file or folder"):
        run("import_cvs", str(tmp_path / "missing.txt"))


def test_import_jobs_jsonl_with_bad_rows(tmp_path):
    path = tmp_path / "jobs.jsonl"
    path.write_text(
        '{"external_id": "J1", "title": "Nurse", "company": "Clinic", "location": "Leeds", '
        '"description": "Ward nurse", "skills": ["Triage"]}\n'
        '{"external_id": "J2", "title": "", "description": "x"}\n'
        "{broken\n"
        '{"external_id": "J3", "title": "Chef", "description": "Kitchen", "skills": "Knife skills; HACCP"}\n'
        '{"external_id": "J4", "title": "Chef", "description": "Kitchen", "skills": [1, 2]}\n'
    )
    output = run("import_jobs", str(path))
    assert "jobs: 2 created, 0 updated, 0 duplicate, 3 rejected" in output
    assert f"rejected {path}:2: missing field 'title'" in output
    assert f"rejected {path}:3: invalid JSON" in output
    assert f"rejected {path}:5: field 'skills' must be a list of strings" in output
    assert Job.objects.get(external_id="J3").skills == ["Knife skills", "HACCP"]


def test_import_jobs_csv_and_json_update_and_dedupe(tmp_path):
    csv_path = tmp_path / "jobs.csv"
    csv_path.write_text(
        "external_id,title,company,location,description,skills\n"
        'J1,Data Engineer,Acme,Remote,Build pipelines,"Python, Airflow"\n'
    )
    assert "1 created" in run("import_jobs", str(csv_path))
    job = Job.objects.get(external_id="J1")
    Job.objects.filter(pk=job.pk).update(embedding_status=EmbeddingStatus.EMBEDDED)
    assert "1 duplicate" in run("import_jobs", str(csv_path))
    json_path = tmp_path / "jobs.json"
    json_path.write_text(
        '[{"external_id": "J1", "title": "Senior Data Engineer", "company": "Acme", "location": "Remote",'
        ' "description": "Build pipelines", "skills": ["Python", "Airflow"]}]'
    )
    assert "1 updated" in run("import_jobs", str(json_path))
    job.refresh_from_db()
    assert job.title == "Senior Data Engineer" and job.embedding_status == EmbeddingStatus.PENDING


def test_import_jobs_unreadable_file_is_one_line_error(tmp_path):
    path = tmp_path / "jobs.json"
    path.write_text("{not json")
    with pytest.raises(CommandError, match=r"jobs.json: invalid JSON"):
        run("import_jobs", str(path))
    with pytest.raises(CommandError, match="unsupported file type .xml"):
        (tmp_path / "jobs.xml").write_text("<jobs/>")
        run("import_jobs", str(tmp_path / "jobs.xml"))
