"""The mock on real CVs' titles (issue 10, held-out collection): a CV that opens with its job title in
capitals gets it as its label, a place, a placeholder or a heading never becomes one, an occupation and
its field count as one word, a long CV's title still counts against its body, and the word table is
built without importing wordfreq.
"""

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.mock_openai.generators.heuristics.resume_extraction import extract_resume
from core.mock_openai.generators.heuristics.text_features import embed_texts
from tests.fuzz_budget import FUZZ

BUILDER_EXPORT = """SOUS CHEF
Work Experience
Sous Chef
Jul 2010 to Jan 2013
Company Name - City , State
Prepared salads and pasta, worked the saute and fry stations, took inventory and placed orders.
Education
Associate of Applied Science : Culinary Arts , 2009
City , State
"""


def cosine(first: str, second: str) -> float:
    vectors = embed_texts([first, second], 768)
    return float(vectors[0] @ vectors[1])


def label(text: str) -> str:
    return extract_resume(text)["basics"]["label"]


def test_a_cv_opening_with_its_title_in_capitals_is_labelled_with_it_and_has_no_name():
    resume = extract_resume(BUILDER_EXPORT)
    assert resume["basics"]["label"] == "SOUS CHEF"
    assert resume["basics"]["name"] == ""


def test_a_name_in_capitals_is_not_taken_for_a_title():
    text = "JOHN SMITH\njohn.smith@example.com\nExperience\nSous Chef, The Copper Pot, 2019 - Present\n"
    assert label(text) != "JOHN SMITH"


@pytest.mark.parametrize(
    ("first_line", "again"),
    [
        ("JOHN SMITH", "John Smith - Page 2"),  # a PDF's page footer repeats the name
        ("MARIA GARCIA", "Receptionist, Garcia Dental, 2018 - 2021"),
        ("DAVID LEE", "References\nDavid Lee, available on request"),
        ("CHICAGO", "Line Cook, The Copper Pot, Chicago, 2019 - Present"),
        ("NEW YORK", "Sous Chef, Bistro 42, New York, 2016 - 2019"),
        ("CONFIDENTIAL", "Confidential - do not forward"),
    ],
)
def test_a_capitalised_first_line_that_comes_back_is_still_no_title_without_a_role_word(first_line, again):
    text = f"{first_line}\nExperience\nPrepared salads and sauces for 200 guests a night.\n{again}\n"
    assert label(text) != first_line


@pytest.mark.parametrize("placeholder", ["City , State", "USA", "Company Name", "[Year]", "Curriculum Vitae"])
def test_a_place_or_template_placeholder_is_never_a_label(placeholder):
    text = f"Experience\n{placeholder}\nCooked for 200 guests a night.\nEducation\n{placeholder}\n"
    assert label(text) != placeholder


TITLE_WORDS = st.sampled_from(["SOUS", "CHEF", "HR", "COORDINATOR", "SUMMARY", "SKILLS", "CITY", "STATE", "USA"])


@given(st.lists(TITLE_WORDS, min_size=1, max_size=4).map(" ".join), st.text(max_size=300))
@FUZZ
def test_a_label_is_never_a_heading_a_place_or_a_line_with_digits(first_line, rest):
    found = label(first_line + "\n" + rest)
    assert found.strip().lower() not in {"summary", "skills", "city", "state", "usa", "city state"}
    assert not any(ch.isdigit() or ch in "@[]" for ch in found)


@pytest.mark.parametrize(
    ("field", "person"),
    [("accounting", "accountant"), ("nursing", "nurse"), ("teaching", "teacher"), ("attorney", "lawyer")],
)
def test_an_occupation_and_its_field_count_as_one_word(field, person):
    assert cosine(f"{field} duties", f"{person} duties") > cosine(f"{field} duties", "welding duties") + 0.3


def test_a_long_cvs_title_still_counts_against_its_body():
    body = "\n".join(["Handled customer orders, stock, cash and reports for the store every day."] * 40)
    job = "Registered Nurse\nPatient care on a medical ward."
    assert cosine("Registered Nurse\n" + body, job) > cosine("Store Clerk\n" + body, job) + 0.2


def test_the_word_table_is_built_without_importing_wordfreq():
    """wordfreq's tokenizers cost a mock worker memory it does not need: only its data file is read."""
    code = (
        "import sys\n"
        "from core.mock_openai.generators.heuristics.word_weights import english_lexicon\n"
        "lexicon = english_lexicon()\n"
        "assert len(lexicon.words.keys) > 200_000, len(lexicon.words.keys)\n"
        "print('wordfreq' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
