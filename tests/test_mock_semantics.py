"""What the mock's embeddings and explanations mean (issue 10): rare words weigh more than common ones,
aliases count as the word they stand for, vectors stay deterministic unit vectors for any text and any
`dimensions`, and an explanation's strength word follows the evidence rather than the raw cosine.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.mock_openai.generators.heuristics.match_explanation import compare, explanation_text, strength
from core.mock_openai.generators.heuristics.text_features import embed_texts
from tests.fuzz_budget import FUZZ


def cosine(first: str, second: str, dimensions: int = 768) -> float:
    vectors = embed_texts([first, second], dimensions)
    return float(vectors[0] @ vectors[1])


def test_a_shared_rare_word_counts_for_more_than_a_shared_common_one():
    job = "kubernetes experience"
    assert cosine("kubernetes administration", job) > cosine("experience administration", job) + 0.2


@pytest.mark.parametrize(
    ("alias", "word"),
    [("k8s", "kubernetes"), ("ReactJS", "React"), ("Postgres", "PostgreSQL"), ("machine learning", "ML")],
)
def test_an_alias_is_close_to_the_word_it_stands_for(alias, word):
    assert cosine(f"{alias} platform", f"{word} platform") > cosine(f"{alias} platform", "bookkeeping platform")


def test_numbers_weigh_less_than_words():
    assert cosine("welding 2017", "welding 2019") > cosine("welding harbour", "welding quarry")


@given(st.text(max_size=200), st.sampled_from([1, 2, 3, 64, 256, 768, 1536, 3072]))
@FUZZ
def test_any_text_gives_the_same_unit_vector_every_time(text, dimensions):
    first = embed_texts([text, "padding text"], dimensions)[0]
    again = embed_texts([text], dimensions)[0]
    assert first.shape == (dimensions,) and first.dtype == np.float32
    assert np.allclose(np.linalg.norm(first), 1.0, atol=1e-5)
    assert np.array_equal(first, again)


def prompt(candidate_skills: list[str], job_skills: list[str], score: float, title: str = "Data Engineer") -> str:
    return "\n".join(
        [
            "Candidate profile:",
            "Skills: " + ", ".join(candidate_skills),
            "",
            "Job posting:",
            f"Title: {title}",
            "Company: Northwind",
            f"Skills: {', '.join(job_skills)}",
            "Description: Build pipelines.",
            "",
            f"Match score: {score:.2f}",
        ]
    )


JOB_SKILLS = ["Python", "SQL", "Airflow", "Spark", "Kafka", "dbt", "Docker", "AWS", "Terraform"]


def test_a_cv_with_nearly_all_the_skills_is_a_strong_match_at_a_low_raw_score():
    text = explanation_text(prompt(JOB_SKILLS[:8], JOB_SKILLS, 0.43))
    assert "this is a strong match" in text
    assert "Terraform" in text.split("Not evidenced in the CV:")[1]


def test_a_cv_with_none_of_the_skills_and_a_low_score_is_weak():
    assert "this is a weak match" in explanation_text(prompt(["Painting", "Sculpture"], JOB_SKILLS, 0.08))


def test_a_high_score_alone_lifts_a_match_to_moderate_and_a_title_with_half_the_skills_to_strong():
    assert strength(compare(prompt(["Painting"], JOB_SKILLS, 0.5))) == "a moderate"
    with_title = prompt(["Data Engineer", *JOB_SKILLS[:4]], JOB_SKILLS, 0.2)
    assert compare(with_title)["title_match"]
    assert strength(compare(with_title)) == "a strong"


def test_the_first_line_is_a_headline_that_counts_for_more():
    job = "Registered Nurse"
    assert cosine("Registered Nurse\nwelding, forklift, warehouse", job) > cosine(
        "Welder\nwelding, forklift, registered nurse", job
    )
