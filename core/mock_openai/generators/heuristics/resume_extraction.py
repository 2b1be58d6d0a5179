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
_GLUED_HEADING_RE = re.compile(r"(?<=\S)[ \t]*(?=(?:Education|Skill|Company) Details\b)")
_SKILL_DETAIL_RE = re.compile(r"^(?P<skill>.+?)\s*-\s*Ex\w*ience\s*-.*$", re.IGNORECASE)
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


def _clean(line: str) -> str:
    """A line without Markdown emphasis and heading marks."""
    line = re.sub(r"^#{1,6}\s*", "", line.strip())
    return re.sub(r"(\*\*|__|\*|`)", "", line).strip()


def _heading(line: str, next_line: str) -> tuple[str, str] | None:
    """(section, rest of the line) when the line is a section heading, else None."""
    text = _clean(line)
    name, _, rest = text.partition(":")
    key = re.sub(r"\s+", " ", name).strip().lower()
    if key in _HEADING_TO_SECTION and (len(key.split()) <= 5):
        return _HEADING_TO_SECTION[key], rest.strip(" -")
    # "Skills * Python, SQL": a heading run into its list (matched before _clean takes the "*" away)
    if leading := _LEADING_HEADING_RE.match(re.sub(r"^#{1,6}\s*", "", line.strip())):
        return _HEADING_TO_SECTION[leading["name"].lower()], leading["rest"]
    if re.fullmatch(r"[-=_]{3,}", next_line.strip()) and key:
        return _HEADING_TO_SECTION.get(key, "other"), ""
    if _SKILLS_TITLE_RE.match(text) and not rest.strip() and len(key.split()) <= 6 and not key.endswith("."):
        return "skills", ""  # "CORE SKILLS AND PROGRAMMING LANGUAGES", "JAVA SKILLS", "Skill Set"
    if _is_unknown_heading(line.strip(), text):
        # A section this parser does not know (ACHIEVEMENTS, ## Volunteering, References:) still ends the
        # one before it, so its lines are not read as skills or jobs.
        return "other", ""
    return None


def _is_unknown_heading(raw: str, text: str) -> bool:
    """An UPPERCASE line, a `## Heading` or a bare `Label:`: a heading even if its name is unknown."""
    if raw[:1] in "-*•" or any(ch.isdigit() for ch in text):
        return False
    words = text.rstrip(":").split()
    if not words or len(words) > 4:
        return False
    letters = [ch for ch in text if ch.isalpha()]
    shouting = len(letters) >= 6 and all(ch.isupper() for ch in letters)
    second_level = raw.startswith("## ")
    labelled = text.endswith(":") and len(words) <= 3
    return shouting or second_level or labelled


def _continues_skills(line: str, heading: tuple[str, str]) -> bool:
    """In a skills section, "Languages: C, Java", "Skilled in:" and a row of all-caps skills are part of
    it, not new sections."""
    section, rest = heading
    text = _clean(line)
    unknown = text.rstrip(":").strip().lower() not in _HEADING_TO_SECTION
    columns = re.search(r"\t|\S {3,}\S", line) is not None  # "JAVA    JAVASCRIPT": a row of skills
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


def repair_mojibake(text: str) -> str:
    """ftfy's repair ("â€¢" back to "•"), only for text that can hold mojibake: ftfy takes about 2 ms a CV,
    most of the mock's time on a 10,000-CV parse batch, and real CVs mostly have none."""
    return fix_text(text) if _MOJIBAKE_PAIR_RE.search(text) else text


def split_sections(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """The header lines (before the first heading) and each section's lines, headings removed."""
    text = _GLUED_HEADING_RE.sub("\n", repair_mojibake(text.replace("\r\n", "\n")))
    lines = text.split("\n")
    header: list[str] = []
    sections: dict[str, list[str]] = {}
    current: list[str] = header
    for index, line in enumerate(lines):
        if re.fullmatch(r"\s*[-=_]{3,}\s*", line):
            continue  # an underline or a horizontal rule
        following = lines[index + 1] if index + 1 < len(lines) else ""
        heading = _heading(line, following)
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
    if match := re.fullmatch(r"(\d{1,2})/(\d{4})", value):
        return f"{match[2]}-{int(match[1]):02d}"
    if match := re.fullmatch(r"([A-Za-z]{3,9})\.?\s+(\d{4})", value):
        month = _MONTHS.get(match[1][:3].lower())
        return f"{match[2]}-{month:02d}" if month else match[2]
    year = _YEAR_RE.search(value)
    return year.group(0) if year else ""


def _date_range(text: str) -> tuple[str, str, str] | None:
    """(start, end, text without the range) for the first date range in the text."""
    match = _RANGE_RE.search(text)
    if not match:
        return None
    rest = (text[: match.start()] + text[match.end() :]).strip(" ,|—–-()")
    return _iso_date(match["start"]), _iso_date(match["end"]), rest


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
    key = re.sub(r"\s+", " ", line).strip().lower()
    return (
        1 <= len(line.split()) <= 6
        and not line.endswith(".")
        and not any(ch.isdigit() or ch in ",;:•*|@[]" for ch in line)
        and re.search(r"[^\W\d_]{2}", line) is not None
        and key not in _COUNTRY_CODES
        and key not in _NOT_LABELS
        and key not in _HEADING_TO_SECTION
    )


def _looks_like_place(segment: str, loose: bool) -> bool:
    """ "City, Country" always; "City, ST" (a region code) only when `loose`, since "Accountant, CPA" is a label."""
    parts = [p.strip() for p in segment.split(",")]
    if any(ch.isdigit() for ch in segment) or len(segment) > 80 or "(" in segment:
        return False
    if parts[-1].lower() in _COUNTRY_CODES:
        return True
    return loose and len(parts) >= 2 and re.fullmatch(r"[A-Z]{2,3}", parts[-1]) is not None


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
            if email := _EMAIL_RE.search(value):
                basics["email"] = basics["email"] or email.group(0)
            elif url := _URL_RE.search(value):
                _add_profile(basics, url.group(0))
            elif (phone := _PHONE_RE.search(value)) and sum(ch.isdigit() for ch in phone.group(0)) >= 7:
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
    words = [word for word in re.findall(r"[^\W\d_]{2,}", line.lower()) if word in _ROLE_WORDS]
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
    return " ".join(_BULLET_RE.sub("", _clean(line)) for line in lines if _clean(line))


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
    degree = re.sub(r"\s*\([^)]*\)", "", degree).strip()
    if " in " in degree:
        study_type, area = degree.split(" in ", 1)
        return study_type.strip(), area.strip()
    first, _, rest = degree.partition(" ")
    abbreviation = "." in first or (first[:1].isupper() and any(ch.isupper() for ch in first[1:]) and len(first) <= 6)
    return (first, rest.strip()) if rest and abbreviation else (degree, "")


def _education_entry(line: str) -> dict:
    start, end, rest = _date_range(line) or ("", "", line)
    if not start and (years := _YEAR_RE.findall(line)):
        end = years[-1]
        rest = _YEAR_RE.sub("", line).strip(" ,|—–-()")
    parts = [p.strip() for p in re.split(r",|\s[—–|]\s|\s-\s", rest) if p.strip()]
    institution = next((p for p in reversed(parts) if any(w in p.lower() for w in _INSTITUTION_WORDS)), "")
    others = [p for p in parts if p != institution]
    degree = next((p for p in others if _DEGREE_RE.search(p)), others[0] if institution and others else "")
    if not institution and degree and len(others) >= 2:
        institution = next(p for p in others if p != degree)
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
        if not line or re.match(r"(thesis|dissertation|grade|gpa|honours|honors|modules|courses)\b", line, re.I):
            continue
        entry = _education_entry(line)
        if entry["institution"] or entry["studyType"]:
            entries.append(entry)
        elif entries and not entries[-1]["institution"]:
            entries[-1]["institution"] = line
    return entries


def _split_items(text: str) -> list[str]:
    """Comma/semicolon-separated items, keeping "AWS (EC2, S3)" whole."""
    items, depth, current = [], 0, []
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch in ",;|·•" and depth <= 0:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    return [item.strip(" .") for item in items if item.strip(" .")]


def _skills(lines: list[str]) -> list[dict]:
    skills, seen = [], set()
    for raw in lines:
        for piece in _INLINE_BULLETS_RE.split(_BULLET_RE.sub("", _clean(raw))):
            for skill in _skill_groups(piece.strip(" *•")):
                if skill["name"] and skill["name"].lower() not in seen:
                    seen.add(skill["name"].lower())
                    skills.append(skill)
    return skills


def _skill_groups(line: str) -> list[dict]:
    """ "Group: a, b" as one skill with keywords; else each item of the line (tab- or comma-separated)."""
    if detail := _SKILL_DETAIL_RE.match(line):  # "Python- Experience - 24 months"
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
        match = re.match(r"(.+?)\s*(?:\((.+)\)|[-–—:]\s*(.+))$", item)
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
        name = re.sub(r",?\s*" + _YEAR_RE.pattern, "", line).strip(" ,")
        certificates.append({"name": name, "date": year.group(0) if year else "", "issuer": "", "url": ""})
    return certificates


def extract_resume(text: str) -> dict:
    """A JSON Resume document with as much of the CV as the heuristics can find."""
    header, sections = split_sections(text)
    basics = _basics(header)
    if not basics["email"] and (email := _EMAIL_RE.search(text)):
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
