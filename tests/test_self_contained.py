"""A clone of the repository is all it needs: nothing in it reads the team's shared/ folder beside it.

CI and the team's machines have a `shared/` folder beside the checkout; a user's clone does not. A
reference to it passes every run we make and fails every run a newcomer makes, so look for one in
every tracked file.
"""

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Built from parts, here and below, so that this file does not match itself.
SHARED = REPO.parent / ("sha" + "red")
_REFERENCE = re.compile(
    "|".join(
        [
            re.escape(".." + "/shared"),
            re.escape(".." + "\\shared"),
            r"parent\s*/\s*['\"]" + "shared" + r"['\"]",
            re.escape(str(SHARED)),
        ]
    )
)


def _tracked_files() -> list[Path]:
    """Tracked files and new ones git would add (so a reference is caught before it is committed)."""
    command = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    listed = subprocess.run(command, cwd=REPO, capture_output=True, check=True).stdout
    return [REPO / name for name in listed.decode().split("\0") if name]


def test_no_tracked_file_refers_to_the_shared_folder_beside_the_repository():
    offenders = []
    for path in _tracked_files():
        if not path.is_file():
            continue  # deleted in the working tree, not yet committed
        text = path.read_bytes().decode("utf-8", errors="replace")
        offenders += [
            f"{path.relative_to(REPO)}:{number}: {line.strip()[:120]}"
            for number, line in enumerate(text.splitlines(), 1)
            if _REFERENCE.search(line)
        ]
    assert not offenders, "the project must carry its own copy instead:\n" + "\n".join(offenders)


def test_the_pattern_catches_each_form_of_reference():
    for line in (
        "see " + ".." + "/shared/openai-batch-api/",
        'REPO.parent / "' + 'shared" / "openai-batch-api"',
        f"open('{SHARED}/openai-batch-api/openapi-subset.json')",
    ):
        assert _REFERENCE.search(line), line
    assert not _REFERENCE.search("a shared_task, shared vocabulary, the shared/ folder of a user's own")


def test_the_contract_copy_carries_its_licence_and_provenance():
    contract = REPO / "tests" / "contracts" / "openai-batch-api"
    assert "Permission is hereby granted" in (contract / "LICENSE").read_text()
    readme = (contract / "README.md").read_text()
    assert "openai/openai-openapi" in readme and "How it was cut" in readme
