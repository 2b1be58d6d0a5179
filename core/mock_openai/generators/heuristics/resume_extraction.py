"""Heuristic CV parsing into a JSON Resume document (https://jsonresume.org/schema): the mock's stand-in
for the model that parses CVs, so the app's own parsing gets realistic answers to work on.

It extracts what a model would: the header's name, label and contacts, and the Summary / Experience /
Education / Skills / Languages / Certifications sections. CVs arrive as plain text or Markdown with
headings written in many ways ("EXPERIENCE", "## Work Experience", "Skills:", "Profile" underlined
with dashes); each section has its own small parser.

Real CVs are messier than the samples, and the parser is measured on public collections of them
(benchmarks/bench_match_quality.py): text dumps where headings run into the line before them
("...Deep learning.Education Details"), "Skill Details" / "Company Details" blocks (`company - X`,
`description - ...`, `Python- Experience - 24 months`), PDF exports with glyph bullets and mis-decoded
UTF-8 (repaired with ftfy), all-caps headings. A wrong name is worse than none: the name is taken only
from the first lines of the header, and never from a line that is a heading, a job title, an address
or an institution. Any field the CV does not state stays empty.
"""

import re

from ftfy import fix_text

_HEADINGS = {
    "summary": (
        "summary",
        "professional summary",
        "profile",
        "professional profile",
        "about",
        "about me",
        "objective",
        "career objective",
        "personal statement",
        "overview",
        "career summary",
        "carrier objective",
        "career profile",
        "profile summary",
    ),
    "work": (
        "experience",
        "work experience",
        "professional experience",
        "employment",
        "employment history",
        "work history",
        "career history",
        "relevant experience",
        "experience highlights",
        "company details",
        "work details",
        "professional details",
        "employment details",
        "working experience",
    ),
    "education": (
        "education",
        "education and training",
        "academic background",
        "qualifications",
        "education & training",
        "education details",
        "educational details",
        "educational qualification",
        "educational qualifications",
        "academic qualification",
        "academic qualifications",
        "academic details",
        "academics",
    ),
    "skills": (
        "skills",
        "technical skills",
        "core skills",
        "key skills",
        "competencies",
        "core competencies",
        "skills and tools",
        "tools",
        "technologies",
        "expertise",
        "areas of expertise",
        "skills & tools",
        "skill details",
        "skill set",
        "skillset",
        "skills set",
        "it skills",
        "software skills",
        "computer skills",
        "professional skills",
        "technical skill",
        "technical expertise",
        "technical proficiency",
    ),
    "languages": ("languages", "language skills"),
    "certificates": (
        "certifications",
        "certificates",
        "licences & certifications",
        "licenses & certifications",
        "licences and certifications",
        "licenses and certifications",
        "licences",
        "licenses",
        "certifications & training",
    ),
    "projects": ("projects", "selected projects", "key projects"),
    "interests": ("interests", "hobbies"),
    "other": (
        "achievements",
        "key achievements",
        "awards",
        "references",
        "volunteering",
        "volunteer experience",
        "professional development",
        "publications",
        "selected matters",
        "memberships",
        "additional information",
        "personal details",
        "personal information",
        "personal profile",
        "declaration",
        "strengths",
        "extra curricular activities",
        "training",
        "trainings",
    ),
}
_HEADING_TO_SECTION = {name: section for section, names in _HEADINGS.items() for name in names}
_LEADING_HEADING_RE = re.compile(
    r"^(?P<name>" + "|".join(sorted(map(re.escape, _HEADING_TO_SECTION), key=len, reverse=True)) + r")"
    r"\s*(?:[*•:]|\s-\s)\s*(?P<rest>\S.*)$",
    re.IGNORECASE,
)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_RE = re.compile(r"\+?\(?\d[\d\s().-]{6,}\d")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\b(?:linkedin\.com|github\.com)/\S+", re.IGNORECASE)
_MONTHS = {
    m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)
}
_DATE = r"(?:(?:[A-Za-z]{3,9}\.?\s+)?\d{4}|\d{1,2}/\d{4}|present|current|now|today)"
_RANGE_RE = re.compile(rf"(?P<start>{_DATE})\s*(?:–|—|-|to|until)\s*(?P<end>{_DATE})", re.IGNORECASE)
_YEAR_RE = re.compile(r"\b(?:19|20)\d{2}\b")
_BULLET_RE = re.compile(r"^\s*(?:[-*•·▪◦‣]|\d+[.)])\s+")
_ENTRY_SEPARATORS = (" — ", " – ", " at ", " @ ", " | ", ", ", " - ")
_INSTITUTION_WORDS = (
    "university",
    "college",
    "school",
    "institute",
    "academy",
    "polytechnic",
    "conservatoire",
    "université",
    "center",
    "centre",
)
_DEGREE_RE = re.compile(
    r"\b(?:B\.?\s?Sc|B\.?\s?S|B\.?\s?A|B\.?\s?Eng|M\.?\s?Sc|M\.?\s?S|M\.?\s?A|M\.?\s?Eng|MBA|Ph\.?\s?D|BSN|MSN|PharmD|"
    r"Bachelor|Master|Doctor|Diploma|Certificate|Associate|A-levels?|GCSEs?|Licen[cs]e|BTEC|NVQ|HND|Degree)\b",
    re.IGNORECASE,
)
_COUNTRY_CODES = {
    "usa": "US",
    "us": "US",
    "united states": "US",
    "united states of america": "US",
    "uk": "GB",
    "united kingdom": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "ireland": "IE",
    "germany": "DE",
    "france": "FR",
    "spain": "ES",
    "italy": "IT",
    "portugal": "PT",
    "netherlands": "NL",
    "belgium": "BE",
    "switzerland": "CH",
    "austria": "AT",
    "poland": "PL",
    "czech republic": "CZ",
    "czechia": "CZ",
    "sweden": "SE",
    "norway": "NO",
    "denmark": "DK",
    "finland": "FI",
    "india": "IN",
    "china": "CN",
    "japan": "JP",
    "canada": "CA",
    "australia": "AU",
    "new zealand": "NZ",
    "brazil": "BR",
    "mexico": "MX",
    "nigeria": "NG",
    "ghana": "GH",
    "kenya": "KE",
    "south africa": "ZA",
    "singapore": "SG",
    "united arab emirates": "AE",
    "uae": "AE",
    "egypt": "EG",
    "pakistan": "PK",
    "philippines": "PH",
    "argentina": "AR",
    "colombia": "CO",
    "chile": "CL",
}
# Words that make a line something other than a person's name.
_NOT_NAME_WORDS = frozenset(
    {word for names in _HEADINGS.values() for name in names for word in re.findall(r"[a-z]+", name)}
    | set(_INSTITUTION_WORDS)
    | {
        "details", "resume", "curriculum", "vitae", "cv", "biodata", "page", "contact", "name", "address",
        "engineer", "engineering", "developer", "development", "manager", "management", "analyst", "consultant",
        "scientist", "science", "associate", "executive", "designer", "administrator", "officer", "specialist",
        "lead", "architect", "tester", "testing", "intern", "trainer", "teacher", "advocate", "accountant",
        "assistant", "coordinator", "director", "head", "programmer", "technician", "supervisor", "student",
        "representative", "professional", "fresher", "senior", "junior", "sr", "jr", "trainee", "member",
        "road", "street", "nagar", "district", "state", "city", "pvt", "ltd", "limited", "inc", "llp",
        "technologies", "solutions", "services", "systems", "software", "data", "web", "java", "python",
        "sap", "hr", "sales", "marketing", "operations", "business", "network", "security", "database",
        "mba", "hsc", "ssc", "bsc", "msc", "be", "btech", "mtech", "pune", "mumbai", "india", "maharashtra",
        "admin", "administration", "technical", "functional", "peoplesoft", "workday", "react", "sql", "erp",
    }
)  # fmt: skip
_NAME_WORD_RE = re.compile(r"[^\W\d_][^\W\d_'’-]*(?:[.'’-][^\W\d_]+)*\.?")
_NOT_LABELS = frozenset(
    {"city", "state", "city state", "company", "company name", "client", "duration", "current project"}
    | {"curriculum vitae", "resume", "cv", "biodata"}
)
# The words a job title ends on or is built around: what tells "SOUS CHEF" from "JOHN SMITH", "CHICAGO"
# or "CONFIDENTIAL" on a CV's first line, all of which may come back later in the CV.
_ROLE_WORDS = frozenset(
    (  # noqa: SIM905 (a word list reads best as words)
        "accountant administrator advisor adviser advocate agent aide analyst apprentice architect artist "
        "assistant associate attorney auditor baker banker barista bartender buyer carpenter cashier chef "
        "clerk coach consultant controller cook coordinator counselor counsellor designer developer "
        "director dispatcher doctor driver economist editor educator electrician engineer estimator "
        "executive expert faculty generalist head inspector instructor intern journalist lawyer lead "
        "librarian machinist manager marketer mechanic merchandiser nurse nutritionist officer operator "
        "paralegal partner pharmacist photographer physician pilot planner plumber president principal "
        "producer professor programmer receptionist recruiter representative researcher scientist "
        "secretary server specialist strategist superintendent supervisor surveyor teacher technician "
        "technologist tester therapist trader trainee trainer translator tutor underwriter welder worker "
        "writer"
    ).split()
)
_NAME_LINES = 4  # the name is one of the header's first lines, or there is none
_NAME_PREFIX_RE = re.compile(r"^(?:name|candidate)\s*[:\-]\s*", re.IGNORECASE)
_DETAILS_HEADING_RE = re.compile(r"(?:Education|Skill|Company) Details\b")
_SKILL_DETAIL_RE = re.compile(r"^(?P<skill>.+?)\s*-\s*Ex\w*ience\s*-.*$", re.IGNORECASE)
# The word _SKILL_DETAIL_RE needs, with its flag: a quick search that spares most lines its slow lazy match
_EXPERIENCE_WORD_RE = re.compile(r"Ex\w*ience", re.IGNORECASE)
_COMPANY_LINE_RE = re.compile(r"^company\s*-\s*(?P<name>.*)$", re.IGNORECASE)
_DESCRIPTION_LINE_RE = re.compile(r"^description\s*-\s*(?P<text>.*)$", re.IGNORECASE)
_SKILLS_TITLE_RE = re.compile(r"^skill|^(?=[^a-z]*$).*\bSKILLS\b")
_COLUMNS_RE = re.compile(r"\t+|\s{3,}")  # PDF exports lay skills out in columns
_INLINE_BULLETS_RE = re.compile(r"\s+[*•▪◦➢❖✓➤►●○■□♦]\s+")
MAX_SUMMARY_CHARS = 2000

_CONTACT_SPLIT_RE = re.compile(r"\s+[|·•]\s+|\s{3,}|\t")
_LABELLED_RE = re.compile(
    r"^(email|e-mail|phone|mobile|tel|telephone|location|address|linkedin|github|website)\s*:\s*(.+)$", re.I
)
_HEADING_MARKS_RE = re.compile(r"^#{1,6}\s*")
_EMPHASIS_RE = re.compile(r"(\*\*|__|\*|`)")
_RULE_RE = re.compile(r"[-=_]{3,}")
_SKILL_COLUMNS_RE = re.compile(r"\t|\S {3,}\S")
_MONTH_YEAR_RE = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{4})")
_SLASHED_DATE_RE = re.compile(r"(\d{1,2})/(\d{4})")
_REGION_CODE_RE = re.compile(r"[A-Z]{2,3}")
_TWO_LETTERS_RE = re.compile(r"[^\W\d_]{2}")
_LABEL_BREAKERS_RE = re.compile(r"[,;:•*|@\[\]]")  # characters of lists, contacts and placeholders, not titles
_WORDS_RE = re.compile(r"[^\W\d_]{2,}")
_PARENTHESES_RE = re.compile(r"\s*\([^)]*\)")
_EDUCATION_PARTS_RE = re.compile(r",|\s[—–|]\s|\s-\s")
_EDUCATION_DETAIL_RE = re.compile(r"(thesis|dissertation|grade|gpa|honours|honors|modules|courses)\b", re.I)
_ITEM_SEPARATORS_RE = re.compile(r"[,;|·•]")
_BRACKET_OR_SEPARATOR_RE = re.compile(r"[(),;|·•]")
# Every date range holds a digit or a word for the present (searched with _RANGE_RE's flag, so the same
# letters match)
_DATE_HINT_RE = re.compile(r"\d|present|current|now|today", re.IGNORECASE)
_FLUENCY_RE = re.compile(r"(.+?)\s*(?:\((.+)\)|[-–—:]\s*(.+))$")
_DATED_RE = re.compile(r",?\s*" + _YEAR_RE.pattern)


def _without_heading_marks(line: str) -> str:
    """A stripped line without its Markdown heading marks ("## "); the regex runs only on lines that have one."""
    return _HEADING_MARKS_RE.sub("", line) if line.startswith("#") else line


def _without_emphasis(line: str) -> str:
    """A line without Markdown emphasis, stripped; the regex runs only on lines with a mark."""
    if "*" in line or "_" in line or "`" in line:
        line = _EMPHASIS_RE.sub("", line)
    return line.strip()


def _clean(line: str) -> str:
    """A line without Markdown emphasis and heading marks."""
    return _without_emphasis(_without_heading_marks(line.strip()))


def _heading(line: str, underlined: bool) -> tuple[str, str] | None:
    """(section, rest of the line) when the line (stripped of surrounding whitespace) is a section heading,
    else None; `underlined` when the next line is a rule of dashes, equals signs or underscores.

    It runs on every line of every CV, so each test is guarded by a cheap string test that rules most
    lines out before any regex runs."""
    if not line:
        return None  # a blank line, as a third of a CV's lines are
    unmarked = _without_heading_marks(line)
    text = _without_emphasis(unmarked)
    name, _, rest = text.partition(":")
    # Headings have at most six words, so splitting stops after the seventh: the key of a longer line (its
    # tail left unsplit) only has to differ from every heading and be more than six words, which it does.
    key = " ".join(name.split(None, 6)).lower()
    if key in _HEADING_TO_SECTION and (len(key.split()) <= 5):
        return _HEADING_TO_SECTION[key], rest.strip(" -")
    # "Skills * Python, SQL": a heading run into its list (matched before _clean takes the "*" away). The
    # regex needs a letter first (all that IGNORECASE matches to a letter are letters) and one of the
    # separators "*", "•", ":" or " - ".
    if (
        unmarked[:1].isalpha()
        and ("*" in unmarked or ":" in unmarked or "•" in unmarked or "-" in unmarked)
        and (leading := _LEADING_HEADING_RE.match(unmarked))
    ):
        return _HEADING_TO_SECTION[leading["name"].lower()], leading["rest"]
    if underlined and key:
        return _HEADING_TO_SECTION.get(key, "other"), ""
    if (
        (text.startswith("skill") or "SKILLS" in text)  # what either branch of _SKILLS_TITLE_RE needs
        and _SKILLS_TITLE_RE.match(text)
        and not rest.strip()
        and len(key.split()) <= 6
        and not key.endswith(".")
    ):
        return "skills", ""  # "CORE SKILLS AND PROGRAMMING LANGUAGES", "JAVA SKILLS", "Skill Set"
    if _is_unknown_heading(line, text):
        # A section this parser does not know (ACHIEVEMENTS, ## Volunteering, References:) still ends the
        # one before it, so its lines are not read as skills or jobs.
        return "other", ""
    return None


def _is_unknown_heading(raw: str, text: str) -> bool:
    """An UPPERCASE line, a `## Heading` or a bare `Label:`: a heading even if its name is unknown. The tests
    that turn most lines away (bullets, sentences) come before the per-character ones."""
    if raw[:1] in "-*•":  # a bullet, or nothing
        return False
    words = text.rstrip(":").split(None, 4)  # five pieces when the line has more than four words
    if not words or len(words) > 4 or any(map(str.isdigit, text)):
        return False
    if raw.startswith("## ") or (text.endswith(":") and len(words) <= 3):
        return True  # a second-level heading or a label
    letters = list(filter(str.isalpha, text))
    return len(letters) >= 6 and all(map(str.isupper, letters))  # shouting


def _continues_skills(line: str, heading: tuple[str, str]) -> bool:
    """In a skills section, "Languages: C, Java", "Skilled in:" and a row of all-caps skills are part of
    it, not new sections."""
    section, rest = heading
    text = _clean(line)
    unknown = text.rstrip(":").strip().lower() not in _HEADING_TO_SECTION
    columns = _SKILL_COLUMNS_RE.search(line) is not None  # "JAVA    JAVASCRIPT": a row of skills
    if section == "languages":
        return bool(rest)
    return section == "other" and unknown and (text.endswith(":") or columns)


# UTF-8 read as Windows-1252 or Latin-1 turns every multi-byte character into a lead byte's letter
# (U+00C2 to U+00F4) followed by a continuation byte's character (U+0080 to U+00BF, or one of the
# Windows-1252 symbols at 0x80 to 0x9F): text without such a pair has nothing for ftfy to repair.
_MOJIBAKE_PAIR_RE = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)
# A line of tabs and printable ASCII without "&" is one that none of ftfy's fixes changes: no mojibake,
# HTML entity, terminal escape, control character, line break other than "\n", ligature, wide or curly
# character, and NFC leaves ASCII as it is.
_PLAIN_LINE_RE = re.compile(r"[\t -%'-~]*\n?")


def repair_mojibake(text: str) -> str:
    """ftfy's repair ("â€¢" back to "•"), only for text that can hold mojibake: ftfy takes about 2 ms a CV,
    most of the mock's time on a 10,000-CV parse batch, and real CVs mostly have none.

    ftfy's fix_text repairs a text line by line (each line with its "\n"), and stops unescaping HTML
    entities for good after the first line with a "<". Giving it only the lines it could change, with
    that switch carried over, gives the same text as fix_text on the whole: most lines of a mis-decoded
    CV are plain ASCII, and ftfy's time per line is most of its cost."""
    if not _MOJIBAKE_PAIR_RE.search(text):
        return text
    lines = text.split("\n")
    repaired = []
    html_seen = False
    for index, line in enumerate(lines):
        segment = line + "\n" if index < len(lines) - 1 else line
        if not _PLAIN_LINE_RE.fullmatch(segment):
            segment = fix_text(segment, unescape_html=False if html_seen else "auto")
        repaired.append(segment)
        html_seen = html_seen or "<" in line
    return "".join(repaired)


def _unglue_headings(text: str) -> str:
    """The text with each "Education Details", "Skill Details" or "Company Details" heading that runs into
    the line before it ("...Deep learning.Education Details", "24 monthsCompany Details") put on a line of
    its own, the spaces or tabs before it becoming the line break. The headings are found by their words
    (a quick search) rather than by a regex that looks behind every position of the text, which took a
    fifth of a text dump's parse."""
    pieces, copied = [], 0
    for heading in _DETAILS_HEADING_RE.finditer(text):
        before = text[copied : heading.start()].rstrip(" \t")
        if before and not before[-1].isspace():  # not at the start of a line (or of the text)
            pieces += [before, "\n"]
            copied = heading.start()
    pieces.append(text[copied:])
    return "".join(pieces)


def split_sections(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """The header lines (before the first heading) and each section's lines, headings removed."""
    text = repair_mojibake(text.replace("\r\n", "\n"))
    text = _unglue_headings(text)
    lines = text.split("\n")
    stripped = [line.strip() for line in lines]
    # An underline or a horizontal rule
    rules = [line.startswith(("-", "=", "_")) and _RULE_RE.fullmatch(line) is not None for line in stripped]
    underlined = [*rules[1:], False]
    header: list[str] = []
    sections: dict[str, list[str]] = {}
    current: list[str] = header
    for line, bare, rule, under_rule in zip(lines, stripped, rules, underlined, strict=True):
        if rule:
            continue
        heading = _heading(bare, under_rule)
        if heading and current is sections.get("skills") and _continues_skills(line, heading):
            heading = None
        if heading:
            section, rest = heading
            current = sections.setdefault(section, [])
            if rest:
                current.append(rest)
            continue
        current.append(line)
    return header, sections


def _iso_date(value: str) -> str:
    value = value.strip().rstrip(".")
    if value.lower() in ("present", "current", "now", "today"):
        return ""
    if match := _SLASHED_DATE_RE.fullmatch(value):
        return f"{match[2]}-{int(match[1]):02d}"
    if match := _MONTH_YEAR_RE.fullmatch(value):
        month = _MONTHS.get(match[1][:3].lower())
        return f"{match[2]}-{month:02d}" if month else match[2]
    year = _YEAR_RE.search(value)
    return year.group(0) if year else ""


def _date_range(text: str) -> tuple[str, str, str] | None:
    """(start, end, text without the range) for the first date range in the text."""
    match = _first_range(text)
    if not match:
        return None
    rest = (text[: match.start()] + text[match.end() :]).strip(" ,|—–-()")
    return _iso_date(match["start"]), _iso_date(match["end"]), rest


def _first_range(text: str) -> re.Match | None:
    """_RANGE_RE's first match in the text. A range holds no comma, so the search runs part by part
    (between commas, matching there as in the whole text), and only in the parts that hold a digit or a
    word for the present: _RANGE_RE's search is slow on text without a range, such as an education line's
    degree and school before its years."""
    start = 0
    for part in text.split(","):
        end = start + len(part)
        if _DATE_HINT_RE.search(part) and (match := _RANGE_RE.search(text, start, end)):
            return match
        start = end + 1
    return None


def _location(value: str) -> dict:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    location = {"address": "", "postalCode": "", "city": parts[0] if parts else "", "countryCode": "", "region": ""}
    if len(parts) >= 2:
        country = _COUNTRY_CODES.get(parts[-1].lower())
        if country:
            location["countryCode"] = country
            if len(parts) >= 3:
                location["region"] = parts[1]
        else:
            location["region"] = parts[1]
    elif parts and parts[0].lower() in _COUNTRY_CODES:
        location.update(city="", countryCode=_COUNTRY_CODES[parts[0].lower()])
    return location


def _looks_like_name(line: str, labelled: bool = False) -> bool:
    """Two to four capitalised words (one will do after "Name:"), none of them a heading, job-title,
    address or institution word."""
    words = line.split()
    return (
        (1 if labelled else 2) <= len(words) <= 4
        and len(line) <= 40
        and all(_NAME_WORD_RE.fullmatch(word) and word[0].isupper() for word in words)
        and not any(word.lower().strip(".") in _NOT_NAME_WORDS for word in words)
    )


def _looks_like_label(line: str) -> bool:
    """A short line of words, such as a job title, not a sentence or a list, nor a place, an address, a
    template's placeholder ("City", "State", "[Year]") or the document's own title ("Curriculum Vitae")."""
    words = line.split()
    if not 1 <= len(words) <= 6 or line.endswith("."):
        return False
    key = " ".join(words).lower()
    return (
        not _LABEL_BREAKERS_RE.search(line)
        and not any(map(str.isdigit, line))
        and _TWO_LETTERS_RE.search(line) is not None
        and key not in _COUNTRY_CODES
        and key not in _NOT_LABELS
        and key not in _HEADING_TO_SECTION
    )


def _looks_like_place(segment: str, loose: bool) -> bool:
    """ "City, Country" always; "City, ST" (a region code) only when `loose`, since "Accountant, CPA" is a label."""
    if len(segment) > 80 or "(" in segment or any(map(str.isdigit, segment)):
        return False
    parts = [p.strip() for p in segment.split(",")]
    if parts[-1].lower() in _COUNTRY_CODES:
        return True
    return loose and len(parts) >= 2 and _REGION_CODE_RE.fullmatch(parts[-1]) is not None


def _basics(header: list[str]) -> dict:
    basics = {
        "name": "",
        "label": "",
        "email": "",
        "phone": "",
        "url": "",
        "summary": "",
        "location": _location(""),
        "profiles": [],
    }
    text_lines: list[str] = []
    for raw in header:
        line = _BULLET_RE.sub("", _clean(raw))
        if not line:
            continue
        text_lines.append(line)
        segments = [s.strip() for s in _CONTACT_SPLIT_RE.split(line) if s.strip()]
        contact_found = False
        for segment in segments:
            labelled = _LABELLED_RE.match(segment)
            value = labelled.group(2).strip() if labelled else segment
            # each regex runs only on a segment with the character all its matches hold
            if "@" in value and (email := _EMAIL_RE.search(value)):
                basics["email"] = basics["email"] or email.group(0)
            elif ("/" in value or "." in value) and (url := _URL_RE.search(value)):
                _add_profile(basics, url.group(0))
            elif (phone := _PHONE_RE.search(value)) and sum(map(str.isdigit, phone.group(0))) >= 7:
                basics["phone"] = basics["phone"] or phone.group(0).strip()
            elif (labelled and labelled.group(1).lower() in ("location", "address")) or (
                basics["name"] and _looks_like_place(value, loose=bool(basics["label"]) or len(segments) > 1)
            ):
                basics["location"] = _location(value)
            else:
                continue
            contact_found = True
        if contact_found:
            continue
        labelled = _NAME_PREFIX_RE.match(line)
        columns = [part.strip() for part in _COLUMNS_RE.split(line[labelled.end() :] if labelled else line)]
        early = len(text_lines) <= _NAME_LINES
        if early and not basics["name"] and _looks_like_name(columns[0], labelled=bool(labelled)):
            basics["name"] = columns[0]  # "Venkat Rao        Workday Consultant": a name and a label
            if len(columns) > 1 and not basics["label"] and _looks_like_label(columns[1]):
                basics["label"] = columns[1]
        elif early and not basics["label"] and _looks_like_label(line):
            basics["label"] = line
    return basics


def _title_line(text: str) -> str:
    """The CV's job title when its first line is one in capitals ("SOUS CHEF", "HR BENEFITS COORDINATOR"),
    as CV builders' exports start: such a line is otherwise read as an unknown heading, and the profile
    left with no label. A capitalised name ("JOHN SMITH"), place ("CHICAGO") or stamp ("CONFIDENTIAL")
    looks the same and may come back too (a page footer, a work location), so the line is taken only when
    one of its role words (``_ROLE_WORDS``) comes back in the rest of the CV, as a title does in the
    jobs (the email address and links left out)."""
    first, _, rest = text.lstrip().partition("\n")
    line = _BULLET_RE.sub("", _clean(first))
    letters = [ch for ch in line if ch.isalpha()]
    if len(letters) < 2 or not all(ch.isupper() for ch in letters) or not _looks_like_label(line):
        return ""  # _looks_like_label also turns away a known heading ("SUMMARY")
    rest = _URL_RE.sub(" ", _EMAIL_RE.sub(" ", rest)).lower()
    words = [word for word in _WORDS_RE.findall(line.lower()) if word in _ROLE_WORDS]
    return line if any(re.search(rf"\b{re.escape(word)}\b", rest) for word in words) else ""


def _header_paragraphs(header: list[str]) -> list[str]:
    """The header's long or bulleted lines (a text dump's untitled opening paragraph), for the summary or
    the skills."""
    return [
        line
        for raw in header
        if len((line := _clean(raw)).split()) > 12 or _INLINE_BULLETS_RE.search(line) or line.count(",") >= 3
    ]


def _role_line(lines: list[str]) -> str:
    """The role in a line no education entry takes: text dumps put the current role ("HR", "Data
    Scientist - Quantix") between the education lines and the skills block."""
    roles = []
    for raw in lines:
        line = _BULLET_RE.sub("", _clean(raw))
        entry = _education_entry(line)
        role, separator, _ = line.partition(" - ")
        if entry["studyType"] or (entry["institution"] and not separator) or not _looks_like_label(role):
            continue
        if separator:
            return role.strip()
        roles.append(role.strip())
    return roles[-1] if roles else ""


def _add_profile(basics: dict, url: str) -> None:
    network = "LinkedIn" if "linkedin" in url.lower() else "GitHub" if "github" in url.lower() else ""
    username = url.rstrip("/").rsplit("/", 1)[-1]
    if network:
        basics["profiles"].append({"network": network, "username": username, "url": url})
    elif not basics["url"]:
        basics["url"] = url


def _paragraph(lines: list[str]) -> str:
    return " ".join(_BULLET_RE.sub("", line) for line in map(_clean, lines) if line)


def _split_title(line: str) -> tuple[str, str]:
    """(position, organisation) from "Position — Company", "Position at Company", "Position, Company"."""
    for separator in _ENTRY_SEPARATORS:
        if separator in line:
            left, right = line.split(separator, 1)
            return left.strip(), right.strip()
    return line.strip(), ""


def _work(lines: list[str]) -> list[dict]:
    entries: list[dict] = []
    current: dict | None = None
    for raw in lines:
        line = _clean(raw)
        if not line:
            continue
        if company := _COMPANY_LINE_RE.match(line):  # "Company Details" blocks: company - X, description - ...
            current = _work_entry(company["name"].strip(), "", ("", "", ""))
            entries.append(current)
            continue
        if current is not None and (description := _DESCRIPTION_LINE_RE.match(line)):
            current["_described"] = True
            line = description["text"]
        if current is not None and current.get("_described"):
            if len(current["summary"]) < MAX_SUMMARY_CHARS:
                current["summary"] = (current["summary"] + " " + _BULLET_RE.sub("", line)).strip()
            continue
        if _BULLET_RE.match(raw.strip()) or _BULLET_RE.match(line):
            if current is not None:
                current["highlights"].append(_BULLET_RE.sub("", line))
            continue
        dates = _date_range(line)
        if dates and current is not None and not current["startDate"] and (not dates[2] or current["_fresh"]):
            current["startDate"], current["endDate"] = dates[0], dates[1]
            current["_fresh"] = False
            if dates[2] and not current["name"]:
                current["name"] = dates[2]
            continue
        if current is not None and current["startDate"] and not dates and not current["highlights"] and len(line) > 60:
            current["summary"] = (current["summary"] + " " + line).strip()
            continue
        position, organisation = _split_title(dates[2] if dates else line)
        current = _work_entry(organisation, position, dates or ("", "", ""))
        entries.append(current)
    for entry in entries:
        del entry["_fresh"]
        entry.pop("_described", None)
    return entries


def _work_entry(organisation: str, position: str, dates: tuple[str, str, str]) -> dict:
    return {
        "name": organisation,
        "position": position,
        "url": "",
        "startDate": dates[0],
        "endDate": dates[1],
        "summary": "",
        "highlights": [],
        "_fresh": True,
    }


def _degree_parts(degree: str) -> tuple[str, str]:
    """(studyType, area): "Bachelor of Science in Nursing (BSN)" and "B.Sc. Computer Science" both split."""
    degree = (_PARENTHESES_RE.sub("", degree) if "(" in degree else degree).strip()
    if " in " in degree:
        study_type, area = degree.split(" in ", 1)
        return study_type.strip(), area.strip()
    first, _, rest = degree.partition(" ")
    abbreviation = "." in first or (first[:1].isupper() and any(ch.isupper() for ch in first[1:]) and len(first) <= 6)
    return (first, rest.strip()) if rest and abbreviation else (degree, "")


def _names_institution(part: str) -> bool:
    """Whether a part of an education line names a school, lowercased once for all the words."""
    lowered = part.lower()
    return any(word in lowered for word in _INSTITUTION_WORDS)


def _education_entry(line: str) -> dict:
    start, end, rest = _date_range(line) or ("", "", line)
    if not start and (years := _YEAR_RE.findall(line)):
        end = years[-1]
        rest = _YEAR_RE.sub("", line).strip(" ,|—–-()")
    parts = [p.strip() for p in _EDUCATION_PARTS_RE.split(rest) if p.strip()]
    institution = next((p for p in reversed(parts) if _names_institution(p)), "")
    others = [p for p in parts if p != institution]
    degree = next((p for p in others if _DEGREE_RE.search(p)), others[0] if institution and others else "")
    if not institution and degree and len(others) >= 2:
        institution = next((p for p in others if p != degree), "")  # "BSc Physics, BSc Physics" has none
    study_type, area = _degree_parts(degree)
    return {
        "institution": institution,
        "url": "",
        "area": area,
        "studyType": study_type,
        "startDate": start,
        "endDate": end,
        "score": "",
        "courses": [],
    }


def _education(lines: list[str]) -> list[dict]:
    entries = []
    for raw in lines:
        line = _BULLET_RE.sub("", _clean(raw))
        if not line or _EDUCATION_DETAIL_RE.match(line):
            continue
        entry = _education_entry(line)
        if entry["institution"] or entry["studyType"]:
            entries.append(entry)
        elif entries and not entries[-1]["institution"]:
            entries[-1]["institution"] = line
    return entries


def _split_items(text: str) -> list[str]:
    """Comma/semicolon-separated items, keeping "AWS (EC2, S3)" whole."""
    items = _split_outside_brackets(text) if "(" in text or ")" in text else _ITEM_SEPARATORS_RE.split(text)
    return [item.strip(" .") for item in items if item.strip(" .")]


def _split_outside_brackets(text: str) -> list[str]:
    """The items between separators outside brackets; a separator after an unmatched ")" still counts.
    Only brackets and separators are visited (a loop over every character is slow)."""
    items, depth, start = [], 0, 0
    for mark in _BRACKET_OR_SEPARATOR_RE.finditer(text):
        if mark[0] == "(":
            depth += 1
        elif mark[0] == ")":
            depth -= 1
        elif depth <= 0:
            items.append(text[start : mark.start()])
            start = mark.end()
    items.append(text[start:])
    return items


def _skills(lines: list[str]) -> list[dict]:
    skills, seen = [], set()
    for raw in lines:
        for piece in _INLINE_BULLETS_RE.split(_BULLET_RE.sub("", _clean(raw))):
            for skill in _skill_groups(piece.strip(" *•")):
                key = skill["name"].lower()
                if key and key not in seen:
                    seen.add(key)
                    skills.append(skill)
    return skills


def _skill_groups(line: str) -> list[dict]:
    """ "Group: a, b" as one skill with keywords; else each item of the line (tab- or comma-separated)."""
    # "Python- Experience - 24 months"
    if _EXPERIENCE_WORD_RE.search(line) and (detail := _SKILL_DETAIL_RE.match(line)):
        line = detail["skill"]
    category, colon, rest = line.partition(":")
    if colon and rest.strip() and len(category.split()) <= 5:
        keywords = [item for part in _COLUMNS_RE.split(rest) for item in _split_items(part)]
        return [{"name": category.strip(), "level": "", "keywords": keywords}]
    if line.endswith(":"):
        return []  # "Skilled in:" names the list that follows
    return [
        {"name": item, "level": "", "keywords": []} for part in _COLUMNS_RE.split(line) for item in _split_items(part)
    ]


def _languages(lines: list[str]) -> list[dict]:
    languages = []
    for item in _split_items(" , ".join(_BULLET_RE.sub("", _clean(line)) for line in lines if _clean(line))):
        match = _FLUENCY_RE.match(item)
        name, fluency = (match[1], match[2] or match[3]) if match else (item, "")
        languages.append({"language": name.strip(), "fluency": (fluency or "").strip()})
    return languages


def _certificates(lines: list[str]) -> list[dict]:
    certificates = []
    for raw in lines:
        line = _BULLET_RE.sub("", _clean(raw))
        if not line:
            continue
        year = _YEAR_RE.search(line)
        name = _DATED_RE.sub("", line).strip(" ,")
        certificates.append({"name": name, "date": year.group(0) if year else "", "issuer": "", "url": ""})
    return certificates


def _first_email(text: str) -> re.Match | None:
    """The CV's first email address. A match holds an "@" and no line break, so it lies on the line of the
    first "@" or after it: the search starts there, since scanning a long CV's words for an address that
    is not there costs more than the rest of its parse."""
    at = text.find("@")
    return _EMAIL_RE.search(text, text.rfind("\n", 0, at) + 1) if at >= 0 else None


def extract_resume(text: str) -> dict:
    """A JSON Resume document with as much of the CV as the heuristics can find."""
    header, sections = split_sections(text)
    basics = _basics(header)
    if not basics["email"] and (email := _first_email(text)):
        basics["email"] = email.group(0)  # contacts at the foot of the CV, or in a PDF's side column
    opening = _header_paragraphs(header)
    listed = [line for line in opening if line.count(",") >= 3 or _INLINE_BULLETS_RE.search(line)]
    basics["summary"] = _paragraph(sections.get("summary", []) or [line for line in opening if line not in listed])
    work = _work(sections.get("work", []))
    latest_position = next((entry["position"] for entry in work if entry["position"]), "")
    basics["label"] = (
        basics["label"]
        or _title_line(text)
        or (latest_position if _looks_like_label(latest_position) else "")
        or _role_line(sections.get("education", []))
    )
    return {
        "basics": basics,
        "work": work,
        "education": _education(sections.get("education", [])),
        "skills": _skills(sections.get("skills", []) + listed),
        "languages": _languages(sections.get("languages", [])),
        "certificates": _certificates(sections.get("certificates", [])),
        "projects": [
            {"name": _paragraph([line]), "description": ""} for line in sections.get("projects", []) if _clean(line)
        ],
        "interests": [
            {"name": item, "keywords": []} for item in _split_items(_paragraph(sections.get("interests", [])))
        ],
    }
