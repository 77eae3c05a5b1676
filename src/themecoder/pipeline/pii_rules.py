"""The pattern rules of :mod:`themecoder.pipeline.pii`: one function per type, each returning
``(start, end, label)`` candidates. Checksums (Luhn, IBAN mod 97) and context words keep
order numbers, dates and versions out."""

from __future__ import annotations

import re

Span = tuple[int, int, str]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]{}]+", re.I)
_EMAIL = re.compile(r"(?<![\w.+'-])[\w.+'-]*\w@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_HANDLE = re.compile(r"(?<![\w@./])@[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,28}[A-Za-z0-9_])?")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
_CARD = re.compile(r"(?<![\d+-])\d{2,6}(?:[ -]?\d{1,7}){1,6}(?![\d-])")
_PHONE = re.compile(
    r"(?<![\w+@/#.-])(?:\+|00)?(?:\(\+?\d{1,5}\)|\d)(?:[ .\-/]?(?:\(\d{1,5}\)|\d)){5,18}(?![\w-])"
)
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{4}-\d{4}")
_IP = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
#: Words just before a number that make it an id, not a phone number.
_ID_CUE = re.compile(
    r"(?:order|invoice|inv|ticket|case|ref|reference|customer|contract|account|acct|id|build|"
    r"version|tracking|serial|po|sku|request|error|code|licen[cs]e|ending|nr)"
    r"[\s.:#-]*$",
    re.I,
)
_PHONE_CUE = re.compile(
    r"\b(?:phone|tel|telephone|call|ring|mobile|cell|text|fax|whatsapp|sms|dial|line|reach|"
    r"number|m|t|ph|on|at)\b[\s.:(]*$",
    re.I,
)
_STREET = (
    r"(?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Boulevard|Blvd\.?|Lane|Ln\.?|Drive|Court|Way|"
    r"Place|Terrace|Parkway|Pkwy|Square|Highway|Hwy|Crescent|Close|Row|Quay)"
)
_ADDRESSES = [
    re.compile(
        r"\b\d{1,5}[A-Z]?(?:[ ]+[A-Z][\w'.-]*){1,4}[ ]+" + _STREET + r"(?![\w])"
        r"(?:,?[ ]+(?:Suite|Ste\.?|Apt\.?|Apartment|Unit|Floor|Fl\.?)[ ]+[\w-]+)?"
    ),
    re.compile(
        r"\b\d{1,4}(?:[ ]?(?:bis|ter))?,?[ ]+(?:rue|avenue|av\.|boulevard|bd|place|allée|chemin|"
        r"quai|impasse|calle|avenida|rua|via|viale|piazza|plaza)[ ]+(?:(?:de|du|des|la|le|del|"
        r"da|do|dos|di)[ ]+|l'|d')*[A-Z][\w'-]*(?:[ ]+[A-Z][\w'-]*){0,3}",
        re.I,
    ),
    re.compile(
        r"\b[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|gracht|laan|"
        r"straat|vej|gatan|gata|gade|veien)[ ]+\d{1,4}[a-z]?\b"
    ),
    re.compile(
        r"\b(?:Calle|Avenida|Av\.|Rua|Via|Viale|Piazza|Plaza)[ ]+[A-Z][\w'-]*(?:[ ]+(?:de|del|"
        r"da|do|dos|di)?[ ]*[A-Z][\w'-]*){0,3},?[ ]+\d{1,5}\b"
    ),
]

#: Titles dropped from the front of a name ("Dr. Elena Rossi" masks "Elena Rossi").
TITLES = _words("mr mrs ms miss mx dr prof sir madam herr frau sr sra srta mme mlle dott ing")
#: Speaker labels that name a role, not a person.
ROLE_WORDS = _words(
    "interviewer interviewee moderator agent customer participant speaker host guest support "
    "bot user respondent caller operator unknown"
)
#: Words spaCy's small model tends to tag as PERSON, and words cues would pick up, that are
#: not names. A project adds its own product names through ``PiiMasker(allow=...)``.
NON_NAMES = _words(
    """
    hi hello hey dear thanks thank cheers regards best kind team all everyone there guys folks
    again here so very much lot sorry okay ok yes no please support sales billing admin
    customer manager boss colleague the a an and or but for from to with on at in of my our
    your their his her its it this that i me we you they he she is was am are be been not
    just still also now today yesterday tomorrow monday tuesday wednesday thursday friday
    saturday sunday january february march april may june july august september october
    november december dashboard dashboards report reports export exports renewal pricing
    onboarding value realization friction enterprise pro growth starter plan sso api csv
    pdf crm it ops finance legal procurement hr sir madam guys someone anyone somebody
    anybody him them us mate world man buddy both sorry afraid sure confused happy glad new
    back done fine good great ready stuck lost unable out late aware frustrated disappointed
    annoyed upset tired writing trying going looking having getting calling reaching following
    told asked said well too appreciated tel fax
    phone mobile email e-mail ext office pay sent screenshot workaround attention
    one two three four five six seven eight nine ten eleven twelve few several others other
    more many some most
    """
)

#: Product and company names customers often write about, which spaCy's small model tends to
#: tag as people; a project adds its own (``PiiMasker(allow=...)``, project ``pii_allow``).
DEFAULT_ALLOW = _words(
    """
    chrome firefox safari edge opera jira confluence slack zendesk salesforce hubspot tableau
    looker snowflake bigquery okta outlook teams excel word powerpoint twitter linkedin
    facebook instagram whatsapp telegram apple google microsoft amazon aws azure pixel iphone
    ipad android ios windows macos linux workday intercom freshdesk gmail stripe paypal notion
    asana trello zoom dropbox github gitlab sap oracle netsuite quickbooks xero shopify
    mailchimp marketo gong figma miro airtable monday.com power bi sheets docs northwind
    """
)

_TOKEN = r"[^\W\d_][^\W\d_'’-]*(?:['’-][^\W\d_]+)*"
_CAP = r"(?-i:[A-ZÀ-ÖØ-ÞĀ-ſ])[^\W\d_'’-]*(?:['’-][^\W\d_]+)*"
_END = r"(?=[ \t]*(?:[,.!;:)]|$|\n|[ \t]+(?:here|from|again|and)\b|[ \t]*\())"
#: Cues a name follows, and whether a lower-case name is taken after them ("my name is
#: priya"); after the others only a capitalised one is ("ask for Priya", not "ask for help").
_PARTICLE = r"(?:van|von|de|der|den|da|di|del|della|dos|du|le|la|bin|al|el|ten|ter)"
#: One to three capitalised words, name particles allowed between ("Sanne de Vries").
_NAMES = _CAP + r"(?:[ \t]+(?:" + _PARTICLE + r"[ \t]+){0,2}" + _CAP + r"){0,2}"
_ROLE = (
    r"(?:boss|manager|colleague|deputy|assistant|cfo|ceo|cto|coo|csm|dpo|admin|consultant|"
    r"contact|champion|owner|rep|lead|director|engineer|analyst|vp|head of \w+|"
    r"(?:it|data|ops|support|account|success)[ \t]+(?:guy|man|woman|person|girl))"
)
_VERB = (
    r"(?:said|says|told|promised|left|reported|confirmed|asked|wants|agrees|approved|joined|"
    r"knows|runs|owns|built|handles|configured|explained|fixed|helped|thinks|mentioned|walked|"
    r"escalated|emailed|called|wrote|sent|will join|will handle)"
)
#: Cues a name follows (or precedes), and whether a lower-case name is taken after them
#: ("my name is priya"); elsewhere only a capitalised one is ("ask for Priya", not "ask for
#: help"). They are deliberately narrow: spaCy's NER finds most names, these the rest.
_CUES: list[tuple[re.Pattern[str], bool]] = [
    (
        re.compile(
            r"(?i:\b(?:my name is|my name's|name:|call me)[ \t]+)"
            r"(?P<name>" + _TOKEN + r"(?:[ \t]+" + _TOKEN + r")?)" + _END
        ),
        True,
    ),
    (
        re.compile(
            r"(?i:\b(?:this is|it's|its|i'm|i am|im)[ \t]+)(?P<name>" + _NAMES + r")" + _END
        ),
        False,
    ),
    (
        re.compile(
            r"(?i:\b(?:this is|it's|its|i'm|i am|im)[ \t]+)"
            r"(?P<name>" + _TOKEN + r"(?:[ \t]+" + _TOKEN + r")?)"
            r"(?=[ \t]+(?:here|from)\b)"
        ),
        True,
    ),
    (
        re.compile(
            r"(?i:\b(?:hi|hello|hey|dear|thanks|thank you|cheers|thx|bye|regards)[,!]?\s+)"
            r"(?P<name>" + _TOKEN + r"(?:[ \t]+" + _CAP + r")?)" + _END
        ),
        True,
    ),
    (
        re.compile(
            r"(?i:\b(?:spoke|speak|speaking|talked|talk|chatted|spoken)[ \t]+(?:to|with)"
            r"[ \t]+|\bescalated?[ \t]+to[ \t]+)"
            r"(?P<name>" + _TOKEN + r"(?:[ \t]+" + _CAP + r"){0,2})"
        ),
        True,
    ),
    (re.compile(r"(?i:\bask[ \t]+)(?P<name>" + _TOKEN + r")(?=[ \t]+to\b)"), True),
    (
        re.compile(
            r"(?i:\b(?:ask(?:ed)?(?:[ \t]+for)?|contact|cc|attn\.?|attention|call|ring|"
            r"(?:approved|signed|sent|reported|raised|requested|created|configured|opened|"
            r"handled|written)[ \t]+by|(?:ticket|message|e-?mail|mail|note|call|request)"
            r"[ \t]+from)[ \t]+)(?P<name>" + _NAMES + r")"
        ),
        False,
    ),
    (
        re.compile(
            r"(?i:\b(?:our|my|your|new|sales|finance)[ \t]+(?:[a-z]+[ \t]+){0,2}"
            + _ROLE
            + r"(?:[ \t]+is|,)?[ \t]+)(?P<name>"
            + _NAMES
            + r")"
        ),
        False,
    ),
    (
        re.compile(
            r"(?P<name>" + _NAMES + r")(?=[ \t]+(?i:from[ \t]+(?:your|our|it|support|"
            r"sales|billing|finance|legal|accounts|procurement)\b|" + _VERB + r"\b))"
        ),
        False,
    ),
    (
        re.compile(
            r"(?P<name>" + _NAMES + r")(?=['’]s[ \t]+(?i:colleague|account|number|phone|"
            r"mobile|e-?mail|mail|manager|team|assistant|boss|contract|access|address))"
        ),
        False,
    ),
    (
        re.compile(
            r"(?:^|\s)[-–—]{1,2}[ \t]*\n?[ \t]*(?P<name>" + _NAMES + r")"
            r"(?=[ \t]*(?:,|$|\n|\|))",
            re.M,
        ),
        False,
    ),
    (re.compile(r"(?:[.!?]|,)[ \t]+(?P<name>" + _NAMES + r")[ \t]*[.!]?[ \t]*\Z"), False),
]
#: "Aroha and Tama": a word joined to a found name by and / or / & is a name too.
_JOINED = r"[ \t]+(?:and|or|&)[ \t]+"


def joined_names(text: str, names: list[str]) -> list[str]:
    """Words coordinated with an already found name ("aisha and omar", "Sipho or Lerato")."""
    out = []
    for name in names:
        n = r"\s+".join(map(re.escape, name.split()))
        other = r"(?P<other>" + _TOKEN + r"(?:[ \t]+" + _CAP + r")?)"
        after = re.compile(r"(?i:(?<!\w)" + n + r")" + _JOINED + other)
        before = re.compile(r"(?P<other>" + _TOKEN + r")" + _JOINED + r"(?i:" + n + r")(?!\w)")
        for pattern in (after, before):
            out.extend(m["other"] for m in pattern.finditer(text))
    return out


def cue_names(text: str) -> list[str]:
    """Names that follow a cue ("my name is ...", "thanks ...,", "spoke to ...")."""
    out = []
    for pattern, lower_ok in _CUES:
        for m in pattern.finditer(text):
            name = m["name"]
            if lower_ok or name[:1].isupper():
                out.append(name)
    return out


def url_spans(text: str) -> list[Span]:
    return [(m.start(), m.start() + len(m[0].rstrip(".,;:!?")), "URL") for m in _URL.finditer(text)]


def email_spans(text: str) -> list[Span]:
    return [(m.start(), m.end(), "EMAIL") for m in _EMAIL.finditer(text)]


def handle_spans(text: str) -> list[Span]:
    return [(m.start(), m.end(), "HANDLE") for m in _HANDLE.finditer(text)]


def luhn(digits: str) -> bool:
    """Whether a digit string passes the Luhn check."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """Whether a compact IBAN passes the ISO 13616 mod-97 check."""
    if not (15 <= len(iban) <= 34) or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def iban_spans(text: str) -> list[Span]:
    out = []
    for m in _IBAN.finditer(text):
        groups = list(re.finditer(r"\S+", m[0]))
        for n in range(len(groups), 0, -1):  # trailing groups may be a following word
            end = groups[n - 1].end()
            if iban_valid(m[0][:end].replace(" ", "")):
                out.append((m.start(), m.start() + end, "IBAN"))
                break
    return out


def card_spans(text: str) -> list[Span]:
    """13-19 digit numbers, single spaces or dashes between groups, that pass Luhn; the
    longest passing run of groups in each match."""
    out = []
    for m in _CARD.finditer(text):
        groups = list(re.finditer(r"\d+", m[0]))
        best = None
        for i in range(len(groups)):
            for j in range(len(groups), i, -1):
                digits = "".join(g[0] for g in groups[i:j])
                if 13 <= len(digits) <= 19 and luhn(digits):
                    if best is None or j - i > best[1] - best[0]:
                        best = (i, j)
                    break
        if best:
            i, j = best
            out.append((m.start() + groups[i].start(), m.start() + groups[j - 1].end(), "CARD"))
    return out


def phone_spans(text: str) -> list[Span]:
    """Phone numbers of 7-15 digits in any common grouping; dates, IP addresses and numbers
    after an id word ("order", "invoice", "ticket"...) are not."""
    out = []
    for m in _PHONE.finditer(text):
        s = m[0]
        digits = sum(c.isdigit() for c in s)
        if not 7 <= digits <= 15 or _DATE.fullmatch(s) or _IP.fullmatch(s):
            continue
        before = text[max(0, m.start() - 30) : m.start()]
        cue = _PHONE_CUE.search(before) is not None
        strong = re.search(r"phone|tel|mobile|call", before, re.I)
        if _ID_CUE.search(before) and not s.startswith("+") and not strong:
            continue
        plain = not any(c in s for c in " .-/()+")
        if plain and not (cue or 10 <= digits <= 12):
            continue
        if not s.startswith(("+", "(", "0")) and not cue and digits < 9:
            continue  # "2048 7731" with nothing phone-like around it
        out.append((m.start(), m.end(), "PHONE"))
    return out


def address_spans(text: str) -> list[Span]:
    return [(m.start(), m.end(), "ADDRESS") for p in _ADDRESSES for m in p.finditer(text)]
