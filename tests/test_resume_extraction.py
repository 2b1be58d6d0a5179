"""The mock's CV parser on the layouts real CVs come in (issue 10): text dumps with "Skill Details" /
"Company Details" blocks and headings run into the line before them, PDF exports with glyph bullets
and mis-decoded UTF-8, Markdown, all-caps headings, CVs without a name or an email.

A heading, a job title, an address or an institution is never reported as a name, a field the CV does
not state stays empty, and every answer is a valid JSON Resume document of the request's schema; the
last two are also checked as properties over arbitrary text (Hypothesis).
"""

import orjson
from hypothesis import given
from hypothesis import strategies as st

from core.mock_openai.generators.base import Request
from core.mock_openai.generators.resume_answers import ResumeAnswers
from core.stages.resume_schema import RESPONSE_FORMAT, schema_violation
from tests.fuzz_budget import FUZZ

TEXT_DUMP = (
    "Skills * Programming Languages: Python (pandas, numpy), Sql, Java. * Machine learning: Regression, SVM, "
    "Random Forest, Decision Trees.Education Details \r\n"
    "January 2014 to January 2018 B.E Computer Engineering Pune, Maharashtra Savitribai Phule Pune University\r\n"
    "Data Scientist \r\n\r\n"
    "Data Scientist - Quantix Analytics\r\n"
    "Skill Details \r\n"
    "Python- Exprience - 24 months\r\n"
    "Machine Learning- Exprience - 18 months\r\n"
    "SQL- Exprience - 24 monthsCompany Details \r\n"
    "company - Quantix Analytics\r\n"
    "description - Built churn models for retail clients.\r\n"
    "* Deployed a demand forecasting service in Flask.\r\n"
    "company - Orbit Retail\r\n"
    "description - Reporting dashboards in Tableau."
)
HEADINGS_THAT_LOOK_LIKE_NAMES = [
    "Education Details",
    "Skill Details",
    "Company Details",
    "Personal Details",
    "Curriculum Vitae",
    "Professional Summary",
    "ACADEMIC PROJECTS",
    "Key Skills",
    "Data Science Assurance Associate",
    "Senior Java Developer",
    "HSC Pune, Maharashtra S.S.P.M.S College",
    "Savitribai Phule Pune University",
    "Shivaji Nagar Road",
]


def extract_resume(text: str) -> dict:
    """The mock's answer to the pipeline's own parse request for `text` (schema applied), as a document."""
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Parse this CV."}, {"role": "user", "content": text}],
        "response_format": RESPONSE_FORMAT,
    }
    (answer,) = ResumeAnswers().answer([Request("cv-parse-1", body, seed=0, created=0)])
    return orjson.loads(answer["choices"][0]["message"]["content"])


def names(document: dict) -> str:
    return document["basics"]["name"] or ""


def test_a_text_dump_gives_skills_work_and_no_invented_name():
    resume = extract_resume(TEXT_DUMP)
    assert schema_violation(resume) is None
    assert names(resume) == ""
    assert resume["basics"]["email"] == "" and resume["basics"]["phone"] == ""
    assert resume["basics"]["label"] == "Data Scientist"
    skill_names = [skill["name"] for skill in resume["skills"]]
    assert {"Python", "Machine Learning", "SQL"} <= set(skill_names)
    assert "Programming Languages" in skill_names  # the opening list, run into its heading
    assert [entry["name"] for entry in resume["work"]] == ["Quantix Analytics", "Orbit Retail"]
    assert "churn models" in resume["work"][0]["summary"]
    assert "Flask" in resume["work"][0]["summary"]
    assert resume["work"][1]["summary"] == "Reporting dashboards in Tableau."


def test_skill_details_repeated_are_listed_once():
    resume = extract_resume("Skill Details\nJava- Experience - 6 months\nJAVA- Experience - 12 months\nSQL")
    assert [skill["name"] for skill in resume["skills"]] == ["Java", "SQL"]


def test_a_pdf_export_with_mis_decoded_bullets_and_a_name_label():
    text = (
        "Name: Ravali Prasad\n\n   Curriculum Vitae\n\nMobile: +91 98450 12345 | +91 80 2345 6789\n\n"
        "CAREER OBJECTIVE\nTo work in a challenging environment.\n\n"
        "TECHNICAL SKILLS\n\u00e2\u0080\u00a2 Manual testing \u00e2\u0080\u00a2 SQL \u00e2\u0080\u00a2 Selenium\n"
    )
    resume = extract_resume(text)
    assert schema_violation(resume) is None
    assert names(resume) == "Ravali Prasad"
    assert resume["basics"]["phone"] == "+91 98450 12345"  # the first of several
    assert resume["basics"]["summary"] == "To work in a challenging environment."
    assert [skill["name"] for skill in resume["skills"]] == ["Manual testing", "SQL", "Selenium"]


def test_a_markdown_cv_keeps_its_name_label_and_contacts():
    text = "# Chloé Martin\nData Analyst\nchloe@example.org · +33 6 12 34 56 78\n\n## Skills\nSQL, Python, dbt\n"
    resume = extract_resume(text)
    assert names(resume) == "Chloé Martin"
    assert resume["basics"]["label"] == "Data Analyst"
    assert resume["basics"]["email"] == "chloe@example.org"
    assert [skill["name"] for skill in resume["skills"]] == ["SQL", "Python", "dbt"]


def test_a_name_comes_only_from_the_first_lines():
    text = "\n".join(["Summary of a career in logistics."] * 5 + ["Jonas Weber"])
    assert names(extract_resume(text)) == ""


@given(st.sampled_from(HEADINGS_THAT_LOOK_LIKE_NAMES), st.text(max_size=300))
@FUZZ
def test_a_heading_title_or_address_is_never_a_name(first_line, rest):
    for text in (first_line + "\n" + rest, first_line + "\r\n\r\n" + rest, "## " + first_line + "\n" + rest):
        name = names(extract_resume(text))
        assert name != first_line and first_line not in name


CV_PIECES = st.sampled_from(
    [
        "Education Details",
        "Skill Details",
        "Company Details",
        "company - ",
        "description - ",
        "- Experience - 24 months",
        "EXPERIENCE",
        "## Skills",
        "Skills:",
        "•",
        "\u00e2\u0080\u00a2",
        " * ",
        " - ",
        ", ",
        "\n",
        "\r\n",
        "2019 - Present",
        "Jan 2020 to Mar 2021",
        "B.Sc. Computer Science, University of Leeds, 2016",
        "jane@example.com",
        "+44 20 7946 0958",
        "Jane Doe",
        ":",
        "(",
        ")",
    ]
)
CV_TEXT = st.lists(st.one_of(CV_PIECES, st.text(max_size=40)), max_size=40).map("".join)


@given(CV_TEXT)
@FUZZ
def test_any_text_gives_a_valid_json_resume(text):
    resume = extract_resume(text)
    assert schema_violation(resume) is None, resume
    if "@" not in text:
        assert resume["basics"]["email"] == ""


def test_a_pdf_export_skills_block_with_its_own_headings_and_contacts_at_the_foot():
    text = (
        "Rahul Verma\n\nCORE SKILLS AND PROGRAMMING LANGUAGES\n\nJAVA\t\tJAVASCRIPT\n\n"
        "Technical Skills:\n\nLanguages \t\t:\tC, Java.\n\nSkilled in:\n\nHTML5\n\nCSS3\n\n"
        "ACHIEVEMENTS\n\nWon a hackathon.\n\nGmail: rahul.verma@example.com\n"
    )
    resume = extract_resume(text)
    skills = {skill["name"]: skill["keywords"] for skill in resume["skills"]}
    assert {"JAVA", "JAVASCRIPT", "HTML5", "CSS3"} <= set(skills) and "Skilled in" not in str(skills)
    assert skills["Languages"] == ["C", "Java"]
    assert "Won a hackathon" not in str(skills)
    assert resume["basics"]["email"] == "rahul.verma@example.com"


@FUZZ
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=200))
def test_any_text_read_with_the_wrong_encoding_is_seen_as_mojibake(text):
    """repair_mojibake calls ftfy only where its pre-check finds a lead byte's letter before a continuation
    byte's character: every non-ASCII text read as Windows-1252 or Latin-1 has one."""
    from core.mock_openai.generators.heuristics.resume_extraction import _MOJIBAKE_PAIR_RE, repair_mojibake

    if text.isascii():
        return
    for codec in ("cp1252", "latin-1"):
        try:
            garbled = text.encode("utf-8").decode(codec)
        except UnicodeDecodeError:  # a byte Windows-1252 leaves undefined: not text a reader shows
            continue
        assert _MOJIBAKE_PAIR_RE.search(garbled), (codec, garbled)
    assert repair_mojibake("Skills â€¢ Python â€¢ SQL") == "Skills • Python • SQL"


MOJIBAKE_TEXT = st.lists(
    st.one_of(
        st.sampled_from(["â€¢ ", "Ã©", "\n", "\r", "\t", "<b>", "<", "&amp;", "&lt;", "&"]),
        st.sampled_from(["“q”", "ﬁ", "\x1b[31m", "\x00", "\u2028", "e\u0301"]),
        st.text(max_size=20),
    ),
    max_size=30,
).map("".join)


@FUZZ
@given(MOJIBAKE_TEXT)
def test_mojibake_is_repaired_as_ftfy_repairs_the_whole_text(text):
    """repair_mojibake hands ftfy only the lines it could change, carrying over ftfy's switch that stops
    unescaping HTML entities after a line with "<": the text comes out as ftfy's fix_text makes it."""
    from ftfy import fix_text

    from core.mock_openai.generators.heuristics.resume_extraction import repair_mojibake

    text = "â€¢ " + text  # a mojibake pair, so that ftfy runs
    assert repair_mojibake(text) == fix_text(text)
    assert repair_mojibake("<b>\nâ€¢ &amp;") == "<b>\n• &amp;"  # no unescaping after a "<"
    assert repair_mojibake("â€¢ &amp;\n<b>") == "• &\n<b>"


DATED_TEXT = st.lists(
    st.one_of(
        st.sampled_from(["2019", "12/2020", "Jan 2019", "Sept. ", "present", "NOW", "today", " - ", "–", " to ", ","]),
        st.sampled_from([", ", " ", "B.Sc.", "University", "preſent", "٢٠١٩", "\n", "@", "a.b@c.de", "x_y@z-w.io"]),
        st.text(max_size=10),
    ),
    max_size=20,
).map("".join)


@FUZZ
@given(DATED_TEXT)
def test_the_shortcut_searches_find_the_same_first_match(text):
    """The date range is searched only between commas and where a digit or a word for the present is,
    the email address from the line of the first "@": each finds what a search of the whole text finds."""
    from core.mock_openai.generators.heuristics import resume_extraction as rx

    def span(match):
        return match and (match.span(), match.groupdict())

    assert span(rx._first_range(text)) == span(rx._RANGE_RE.search(text))
    assert span(rx._first_email(text)) == span(rx._EMAIL_RE.search(text))


def test_items_split_outside_brackets_only():
    from core.mock_openai.generators.heuristics.resume_extraction import _split_items

    assert _split_items("Python, AWS (EC2, S3), CI/CD (GitHub Actions); SQL") == [
        "Python",
        "AWS (EC2, S3)",
        "CI/CD (GitHub Actions)",
        "SQL",
    ]
    assert _split_items("x (y, (z, w)), v") == ["x (y, (z, w))", "v"]
    assert _split_items("a), b, (c, d") == ["a)", "b", "(c", "d"]  # after an unmatched ")" a "(" evens it out


def test_an_education_line_that_repeats_its_degree_names_no_institution():
    """It raised StopIteration: the mock answered that CV with a 500 on every attempt, and it was given up."""
    from core.mock_openai.generators.heuristics.resume_extraction import extract_resume

    [entry] = extract_resume("Ada Lovelace\nData Engineer\n\nEducation\nBSc Physics, BSc Physics\n")["education"]
    assert entry["institution"] == "" and entry["studyType"] == "BSc"
