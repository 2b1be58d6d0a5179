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


# Issue 9: importers never follow links out of the folder, and never crash on a row.


def _fifo_unblocker(path, seconds=5.0):
    """Open ``path`` (a FIFO) for writing for a moment once someone reads it, so a reader that blocks on it
    (the old behaviour) finishes with an empty file instead of hanging the test run."""
    import os
    import threading
    import time

    def run():
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
                return
            except OSError:
                time.sleep(0.05)

    threading.Thread(target=run, daemon=True).start()


def test_import_cvs_refuses_symlinks_and_special_files(tmp_path):
    import os

    secret = tmp_path / "secret.env"
    secret.write_text("SECRET_KEY=do-not-import-me")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "other.txt").write_text("Someone Else\nOutside the folder")
    folder = tmp_path / "cvs"
    folder.mkdir()
    (folder / "ada.txt").write_text("Ada Lovelace\nAnalyst")
    (folder / "link.txt").symlink_to("/etc/passwd")
    (folder / "env.txt").symlink_to(secret)
    (folder / "inside.txt").symlink_to(folder / "ada.txt")
    (folder / "linked-folder").symlink_to(outside, target_is_directory=True)
    os.mkfifo(folder / "pipe.txt")
    _fifo_unblocker(folder / "pipe.txt")

    output = run("import_cvs", str(folder))
    assert "CVs: 1 created, 0 duplicate, 5 rejected" in output
    assert f"rejected {folder / 'link.txt'}: a symbolic link (to /etc/passwd); only regular files" in output
    assert f"rejected {folder / 'env.txt'}: a symbolic link (to {secret})" in output
    assert f"rejected {folder / 'inside.txt'}: a symbolic link" in output
    assert f"rejected {folder / 'linked-folder'}: a symbolic link (to {outside})" in output
    assert f"rejected {folder / 'pipe.txt'}: a named pipe (FIFO); only regular files" in output
    assert list(CV.objects.values_list("source_name", flat=True)) == ["ada.txt"]
    assert not CV.objects.filter(raw_text__contains="root:").exists()
    assert not CV.objects.filter(raw_text__contains="SECRET_KEY").exists()


def test_import_cvs_refuses_an_explicit_link_or_fifo(tmp_path):
    import os

    (tmp_path / "ada.txt").write_text("Ada Lovelace\nAnalyst")
    (tmp_path / "passwd.txt").symlink_to("/etc/passwd")
    (tmp_path / "folder-link").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    os.mkfifo(tmp_path / "pipe.txt")
    _fifo_unblocker(tmp_path / "pipe.txt")
    output = run(
        "import_cvs",
        *(str(tmp_path / name) for name in ("ada.txt", "passwd.txt", "folder-link", "dangling.txt", "pipe.txt")),
    )
    assert "CVs: 1 created, 0 duplicate, 4 rejected" in output
    assert f"rejected {tmp_path / 'passwd.txt'}: a symbolic link (to /etc/passwd)" in output
    assert f"rejected {tmp_path / 'folder-link'}: a symbolic link (to {tmp_path})" in output
    assert f"rejected {tmp_path / 'dangling.txt'}: a symbolic link" in output
    assert f"rejected {tmp_path / 'pipe.txt'}: a named pipe (FIFO)" in output
    with pytest.raises(CommandError, match="no CV could be read"):
        run("import_cvs", str(tmp_path / "passwd.txt"))


def test_import_jobs_refuses_a_link(tmp_path):
    target = tmp_path / "real.jsonl"
    target.write_text('{"external_id": "J1", "title": "Nurse", "description": "Ward"}\n')
    link = tmp_path / "jobs.jsonl"
    link.symlink_to(target)
    with pytest.raises(CommandError, match=r"jobs.jsonl: a symbolic link \(to .*real.jsonl\); only regular files"):
        run("import_jobs", str(link))
    assert not Job.objects.exists()


def _csv_line(*fields):
    return ",".join('"' + field.replace('"', '""') + '"' for field in fields) + "\n"


def test_import_jobs_csv_rejects_every_bad_row_and_imports_every_good_one(tmp_path):
    header = "external_id,title,company,location,description,skills\n"
    lines = [
        _csv_line("J1", "Nurse", "Clinic", "Leeds", "Ward nurse", "Triage"),  # 2
        _csv_line("J2", "Chef", "C" * 256, "Leeds", "Kitchen", ""),  # 3: company too long
        _csv_line("J3", "Chef", "Canteen", "L" * 256, "Kitchen", ""),  # 4: location too long
        _csv_line("J4", "Chef", "Canteen", "Leeds", "Kitchen\x00", ""),  # 5: NUL
        _csv_line("J5", "Chef", "Canteen", "Leeds", "x" * 140_000, ""),  # 6: over the csv module's 131,072
        _csv_line("J6", "T" * 256, "Canteen", "Leeds", "Kitchen", ""),  # 7: title too long
        _csv_line("J1", "Nurse again", "Clinic", "Leeds", "Ward nurse", ""),  # 8: duplicate of line 2
        _csv_line("J7", "Porter", "Clinic", "Leeds", "Moves things", "Lifting"),  # 9
    ]
    path = tmp_path / "jobs.csv"
    path.write_bytes(
        (header + "".join(lines)).encode()
        + b'"J8","Caf\xe9","Clinic","Leeds","Coffee",""\n'  # 10: latin-1
        + _csv_line("J9", "Cook", "Canteen", "Leeds", "x" * 2_000_000, "").encode()  # 11: over the reader limit
        + _csv_line("J10", "Cleaner", "Clinic", "Leeds", "Cleans", "").encode()  # 12
        + b'"J11","Caf\xe9\n'  # 13: bad UTF-8 and a truncated last line
    )
    output = run("import_jobs", str(path))
    assert "jobs: 3 created, 0 updated, 0 duplicate, 9 rejected" in output, output
    assert f"rejected {path}:3: field 'company' is longer than 255 characters" in output
    assert f"rejected {path}:4: field 'location' is longer than 255 characters" in output
    assert f"rejected {path}:5: field 'description' contains a NUL character" in output
    assert f"rejected {path}:6: field 'description' is longer than 100,000 characters" in output
    assert f"rejected {path}:7: field 'title' is longer than 255 characters" in output
    assert f"rejected {path}:8: duplicate external_id 'J1' (first at line 2)" in output
    assert f"rejected {path}:10: field 'title' is not valid UTF-8" in output
    assert f"rejected {path}:11: " in output
    assert f"rejected {path}:13: " in output
    assert sorted(Job.objects.values_list("external_id", flat=True)) == ["J1", "J10", "J7"]
    assert Job.objects.get(external_id="J1").title == "Nurse"  # the first row wins


def test_import_jobs_jsonl_rejects_nul_long_fields_duplicates_and_a_truncated_line(tmp_path):
    path = tmp_path / "jobs.jsonl"
    path.write_bytes(
        b'{"external_id": "JOB-1", "title": "Nurse", "description": "Ward"}\n'  # 1
        b'{"external_id": "JOB-3", "title": "Chef", "description": "Kitchen"}\n'  # 2
        b'{"external_id": "JOB-4", "title": "Chef", "company": "A\\u0000B", "description": "Kitchen"}\n'  # 3
        b'{"external_id": "JOB-5", "title": "Chef", "location": "' + b"L" * 300 + b'", "description": "K"}\n'  # 4
        b'{"external_id": "' + b"E" * 129 + b'", "title": "Chef", "description": "Kitchen"}\n'  # 5
        b'{"external_id": "JOB-6", "title": "Chef", "description": "K", "skills": ["' + b"s" * 101 + b'"]}\n'  # 6
        b'{"external_id": "JOB-7", "title": "Chef", "description": "K", "skills": ' + orjson_list(101) + b"}\n"  # 7
        b'{"external_id": "JOB-8", "title": "Caf\xe9", "description": "Kitchen"}\n'  # 8
        b'{"external_id": "JOB-3", "title": "Chef 2", "description": "Kitchen"}\n'  # 9
        b'{"external_id": "JOB-9", "title": "Porter", "description": "Moves things"}\n'  # 10
        b'{"external_id": "JOB-10", "title": "Cle'  # 11: truncated
    )
    output = run("import_jobs", str(path))
    assert "jobs: 3 created, 0 updated, 0 duplicate, 8 rejected" in output, output
    assert f"rejected {path}:3: field 'company' contains a NUL character" in output
    assert f"rejected {path}:4: field 'location' is longer than 255 characters" in output
    assert f"rejected {path}:5: field 'external_id' is longer than 128 characters" in output
    assert f"rejected {path}:6: field 'skills' has an entry longer than 100 characters" in output
    assert f"rejected {path}:7: field 'skills' has more than 100 entries" in output
    assert f"rejected {path}:8: not valid UTF-8" in output
    assert f"rejected {path}:9: duplicate external_id 'JOB-3' (first at line 2)" in output
    assert f"rejected {path}:11: invalid JSON" in output
    assert Job.objects.get(external_id="JOB-3").title == "Chef"


def orjson_list(count):
    return ("[" + ", ".join(f'"skill {n}"' for n in range(count)) + "]").encode()


def test_import_jobs_bad_utf8_on_the_last_line_of_a_long_csv_rejects_only_that_line(tmp_path):
    path = tmp_path / "jobs.csv"
    rows = "".join(f"J{n},Title {n},Co,Town,Description {n},\n" for n in range(1, 3000))
    header = b"external_id,title,company,location,description,skills\n"
    path.write_bytes(header + rows.encode() + b"J3000,T\xff,Co,T,D,\n")
    output = run("import_jobs", str(path))
    assert "jobs: 2999 created, 0 updated, 0 duplicate, 1 rejected" in output
    assert f"rejected {path}:3001: field 'title' is not valid UTF-8" in output
    assert Job.objects.count() == 2999


def test_import_jobs_writes_in_chunks_and_a_row_the_database_refuses_is_rejected_alone(tmp_path, settings):
    """Rows are written 500 to a transaction; when the database refuses one row of a chunk, the chunk is
    written row by row, so that row alone is rejected, with its line, and its neighbours are imported."""
    from django.db import connection

    from core.importing.jobs import UPSERT_CHUNK, import_jobs_file

    with connection.cursor() as cursor:  # a rule of the database's own, not one the importer checks
        cursor.execute("ALTER TABLE core_job ADD CONSTRAINT test_refuses_title CHECK (title <> 'Refused')")
    Job.objects.create(external_id="J00003", title="Old title", description="d")
    Job.objects.create(external_id="J00004", title="Job 4", description="d", skills=["Python"])
    count = UPSERT_CHUNK + 20
    path = tmp_path / "jobs.jsonl"
    lines = []
    for n in range(count):
        title = "Refused" if n == 7 else f"Job {n}"
        lines.append(f'{{"external_id": "J{n:05d}", "title": "{title}", "description": "d", "skills": ["Python"]}}')
    # A later line for the refused job, in the next chunk: not a duplicate of a row that was never written.
    lines.append('{"external_id": "J00007", "title": "Job 7", "description": "d", "skills": ["Python"]}')
    path.write_text("\n".join(lines) + "\n")

    report = import_jobs_file(path)

    [(where, reason)] = report.rejected
    assert where.endswith("jobs.jsonl:8")
    assert reason.startswith("the database refused the row:") and "test_refuses_title" in reason
    assert (report.created, report.updated, report.duplicates) == (count - 2, 1, 1)
    assert Job.objects.count() == count
    assert Job.objects.get(external_id="J00007").title == "Job 7"
    updated = Job.objects.get(external_id="J00003")
    assert updated.title == "Job 3" and updated.embedding_version == 1
    assert updated.embedding_status == EmbeddingStatus.PENDING
