"""The SKM survey (Survei Kepuasan Masyarakat, PermenPANRB 14/2017) and its IKM.

The questionnaire is the regulation's nine elements (unsur) in its order, each asked with four
answers scored 1 to 4 (its wording in Indonesian, and in English). A response is given once per
consultation or walk-in ticket (a unique index on each is the arbiter of "once"), or with neither by
a visitor who took no ticket. The respondent's profile (sex, age, education, occupation) is optional.

The index (IKM) of a period's responses, its grade and the sample size it needs are server.domain.ikm;
`ikm` and `report` below are its entry points.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from bson import ObjectId
from bson.errors import InvalidId

from server.domain import ikm as index
from server.domain import messages, walkin_board
from server.domain.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed, is_duplicate_key
from server.domain.models import CHANNELS, is_staff, iso, object_id, sid
from server.domain.security import unsign
from server.mail import mailing
from server.services import Services

log = logging.getLogger(__name__)

Doc = dict[str, Any]
Lang = Literal["id", "en"]

# --- the questionnaire ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Element:
    """One element (unsur) of the SKM: its key, its name, its question and its four answers (1..4)."""

    key: str
    label_id: str
    label_en: str
    question_id: str
    question_en: str
    answers_id: tuple[str, str, str, str]
    answers_en: tuple[str, str, str, str]


# The nine elements of PermenPANRB 14/2017, in the regulation's order (CONTRACT.md's keys).
ELEMENTS: tuple[Element, ...] = (
    Element(
        "persyaratan",
        "Persyaratan",
        "Requirements",
        "Bagaimana pendapat Anda tentang kesesuaian persyaratan pelayanan dengan jenis pelayanannya?",
        "How well did the service's requirements fit the kind of service?",
        ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"),
        ("Not appropriate", "Less appropriate", "Appropriate", "Very appropriate"),
    ),
    Element(
        "prosedur",
        "Sistem, mekanisme, dan prosedur",
        "Systems, mechanisms and procedures",
        "Bagaimana pemahaman Anda tentang kemudahan prosedur pelayanan di unit ini?",
        "How easy was the service procedure at this unit to follow?",
        ("Tidak mudah", "Kurang mudah", "Mudah", "Sangat mudah"),
        ("Not easy", "Less easy", "Easy", "Very easy"),
    ),
    Element(
        "waktu",
        "Waktu penyelesaian",
        "Completion time",
        "Bagaimana pendapat Anda tentang kecepatan waktu dalam memberikan pelayanan?",
        "How fast was the service delivered?",
        ("Tidak cepat", "Kurang cepat", "Cepat", "Sangat cepat"),
        ("Not fast", "Less fast", "Fast", "Very fast"),
    ),
    Element(
        "biaya",
        "Biaya/tarif",
        "Cost/fees",
        "Bagaimana pendapat Anda tentang kewajaran biaya/tarif dalam pelayanan?",
        "How fair was the cost or fee of the service?",
        ("Sangat mahal", "Cukup mahal", "Murah", "Gratis"),
        ("Very expensive", "Fairly expensive", "Cheap", "Free of charge"),
    ),
    Element(
        "produk",
        "Produk spesifikasi jenis pelayanan",
        "Service products",
        "Bagaimana pendapat Anda tentang kesesuaian produk pelayanan antara yang tercantum dalam standar"
        " pelayanan dengan hasil yang diberikan?",
        "How well did what you received match the product promised in the service standard?",
        ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"),
        ("Not appropriate", "Less appropriate", "Appropriate", "Very appropriate"),
    ),
    Element(
        "kompetensi",
        "Kompetensi pelaksana",
        "Staff competence",
        "Bagaimana pendapat Anda tentang kompetensi/kemampuan petugas dalam pelayanan?",
        "How competent were the staff who served you?",
        ("Tidak kompeten", "Kurang kompeten", "Kompeten", "Sangat kompeten"),
        ("Not competent", "Less competent", "Competent", "Very competent"),
    ),
    Element(
        "perilaku",
        "Perilaku pelaksana",
        "Staff conduct",
        "Bagaimana pendapat Anda tentang perilaku petugas dalam pelayanan terkait kesopanan dan keramahan?",
        "How polite and friendly were the staff who served you?",
        ("Tidak sopan dan ramah", "Kurang sopan dan ramah", "Sopan dan ramah", "Sangat sopan dan ramah"),
        ("Not polite and friendly", "Less polite and friendly", "Polite and friendly", "Very polite and friendly"),
    ),
    Element(
        "pengaduan",
        "Penanganan pengaduan, saran dan masukan",
        "Handling of complaints, suggestions and feedback",
        "Bagaimana pendapat Anda tentang penanganan pengaduan pengguna layanan?",
        "How are the complaints of service users handled?",
        ("Tidak ada", "Ada tetapi tidak berfungsi", "Berfungsi kurang maksimal", "Dikelola dengan baik"),
        ("There is none", "It exists but does not work", "It works, but not fully", "It is well managed"),
    ),
    Element(
        "sarana",
        "Sarana dan prasarana",
        "Facilities and infrastructure",
        "Bagaimana pendapat Anda tentang kualitas sarana dan prasarana?",
        "How good are the facilities and infrastructure?",
        ("Buruk", "Cukup", "Baik", "Sangat baik"),
        ("Poor", "Fair", "Good", "Very good"),
    ),
)
ELEMENT_KEYS: tuple[str, ...] = index.ELEMENT_KEYS
assert tuple(e.key for e in ELEMENTS) == ELEMENT_KEYS, "the questionnaire follows the regulation's order"
ANSWER_MIN, ANSWER_MAX = 1, 4

# The respondent's profile, every part optional (the regulation's questionnaire asks for these).
SEXES = {"male": ("Laki-laki", "Male"), "female": ("Perempuan", "Female")}
EDUCATION = {
    "sd": ("SD ke bawah", "Primary school or less"),
    "smp": ("SMP", "Junior high school"),
    "sma": ("SMA/SMK", "Senior high school"),
    "d1_d3": ("D1-D3", "Diploma (D1-D3)"),
    "d4_s1": ("D4/S1", "Bachelor (D4/S1)"),
    "s2": ("S2", "Master (S2)"),
    "s3": ("S3", "Doctorate (S3)"),
}
OCCUPATIONS = {
    "pns": ("PNS/ASN", "Civil servant"),
    "tni_polri": ("TNI/POLRI", "Armed forces/police"),
    "swasta": ("Pegawai swasta", "Private employee"),
    "wirausaha": ("Wirausaha", "Self-employed"),
    "pelajar": ("Pelajar/mahasiswa", "Student"),
    "peneliti": ("Peneliti/dosen", "Researcher/lecturer"),
    "lainnya": ("Lainnya", "Other"),
}
AGE_MIN, AGE_MAX = 10, 100
SUGGESTION_MAX_CHARS = 2000

# Signed survey links (server.mail.mailing.survey_link) and the rating e-mail's link both open the survey.
SURVEY_TOKEN_PURPOSES = ("skm", "rate")
# The newest suggestions shown with the IKM.


def _lang(lang: Any) -> Lang:
    return "en" if lang == "en" else "id"


def questionnaire(lang: Any = "id") -> Doc:
    """GET /surveys/skm: the nine elements in order, each with its four answers, and the profile's choices."""
    en = _lang(lang) == "en"

    def choices(table: dict[str, tuple[str, str]]) -> list[Doc]:
        return [{"value": k, "label": v[1] if en else v[0]} for k, v in table.items()]

    return {
        "lang": "en" if en else "id",
        "title": "Community Satisfaction Survey (SKM)" if en else "Survei Kepuasan Masyarakat (SKM)",
        "regulation": "PermenPANRB 14/2017",
        "elements": [
            {
                "key": e.key,
                "label": e.label_en if en else e.label_id,
                "question": e.question_en if en else e.question_id,
                "answers": [{"value": i + 1, "label": (e.answers_en if en else e.answers_id)[i]} for i in range(4)],
            }
            for e in ELEMENTS
        ],
        "profile": {
            "sex": choices(SEXES),
            "age": {"min": AGE_MIN, "max": AGE_MAX},
            "education": choices(EDUCATION),
            "occupation": choices(OCCUPATIONS),
        },
        "suggestion_max_chars": SUGGESTION_MAX_CHARS,
    }


# --- input checks --------------------------------------------------------------------------------


def validate_answers(answers: Any) -> dict[str, int]:
    """All nine answers, each a whole number 1..4; anything missing, extra or out of range is 422."""
    if not isinstance(answers, dict):
        raise ValidationFailed("invalid_answers", "answers must be an object {element: 1..4}", field="answers")
    unknown = sorted(str(k) for k in answers if k not in ELEMENT_KEYS)
    if unknown:
        raise ValidationFailed(
            "unknown_element", f"unknown element(s): {', '.join(unknown)[:200]}", field="answers", elements=unknown[:9]
        )
    missing = [k for k in ELEMENT_KEYS if answers.get(k) is None]
    if missing:
        raise ValidationFailed(
            "incomplete_answers",
            f"all nine elements need an answer; missing: {', '.join(missing)} / semua unsur wajib diisi",
            field="answers",
            missing=missing,
        )
    out: dict[str, int] = {}
    for k in ELEMENT_KEYS:
        v = answers[k]
        if isinstance(v, bool) or not isinstance(v, int) or not ANSWER_MIN <= v <= ANSWER_MAX:
            raise ValidationFailed(
                "invalid_answer", f"{k} must be a whole number from 1 to 4 / jawaban 1 sampai 4", field=k
            )
        out[k] = v
    return out


def validate_profile(profile: Any) -> Doc | None:
    """The optional respondent profile: sex, age (whole years), education, occupation; unknown keys ignored."""
    if profile is None:
        return None
    if not isinstance(profile, dict):
        raise ValidationFailed("invalid_profile", "profile must be an object", field="profile")
    out: Doc = {}
    for field, table in (("sex", SEXES), ("education", EDUCATION), ("occupation", OCCUPATIONS)):
        value = profile.get(field)
        if value in (None, ""):
            continue
        if value not in table:
            raise ValidationFailed(f"invalid_{field}", f"{field} must be one of {', '.join(table)}", field=field)
        out[field] = value
    age = profile.get("age")
    if age not in (None, ""):
        if isinstance(age, bool) or not isinstance(age, int) or not AGE_MIN <= age <= AGE_MAX:
            raise ValidationFailed(
                "invalid_age", f"age must be a whole number from {AGE_MIN} to {AGE_MAX}", field="age"
            )
        out["age"] = age
    return out or None


def _suggestion(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return messages.clean_text(value, field="suggestion", max_chars=SUGGESTION_MAX_CHARS)
    except ValidationFailed as exc:
        if exc.code == "message_too_long":
            raise ValidationFailed(
                "suggestion_too_long",
                f"suggestion is over {SUGGESTION_MAX_CHARS} characters / saran terlalu panjang",
                field="suggestion",
            ) from None
        raise


# --- storing a response --------------------------------------------------------------------------


def _read_survey_token(svc: Services, token: Any) -> tuple[ObjectId, ObjectId]:
    """(consultation, user) of a signed survey or rating link; 400 when forged or expired."""
    data = unsign(token, svc.settings.secret_key) if isinstance(token, str) and len(token) <= 1000 else None
    if not data or data.get("p") not in SURVEY_TOKEN_PURPOSES:
        raise BadRequest("invalid_token", "this survey link is not valid / tautan survei tidak sah")
    exp = data.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float) or svc.now() >= datetime.fromtimestamp(exp, UTC):
        raise BadRequest("token_expired", "this survey link has expired / tautan survei sudah kedaluwarsa")
    try:
        return ObjectId(str(data["c"])), ObjectId(str(data["u"]))
    except (InvalidId, KeyError, TypeError):
        raise BadRequest("invalid_token", "this survey link is not valid / tautan survei tidak sah") from None


async def _office(svc: Services, code: Any) -> Doc:
    if not isinstance(code, str) or not (len(code) == 4 and code.isdigit()):
        raise ValidationFailed("invalid_office", "office is a 4-digit BPS code", field="office")
    office = await svc.db.offices.find_one({"code": code})
    if office is None:
        raise NotFound("office_not_found", f"no office with code {code!r} / kantor tidak ditemukan")
    return office


def _staff_of(user: Doc | None, office: str) -> bool:
    if not is_staff(user):
        return False
    assert user is not None
    return (user.get("role") == "admin" and not user.get("office")) or user.get("office") == office


@dataclass
class Target:
    """What a response is about: its consultation and/or ticket, and whether the caller proved it theirs."""

    consultation: Doc | None = None
    ticket: Doc | None = None
    verified: bool = False


async def _target(
    svc: Services, actor: Doc | None, office: str | None, consultation_id: Any, ticket_id: Any, token: Any
) -> Target:
    """Load the consultation or ticket; check it is of `office` and that a signed-in user asks about their own.

    `verified`: the caller showed it is theirs (its user signed in, a signed link, the ticket's token) or is
    staff of its office. An unproven response is still taken (CONTRACT.md: anyone), but a signed-in user
    can never answer for someone else's consultation (403).
    """
    tg = Target()
    if consultation_id not in (None, ""):
        c = await svc.db.consultations.find_one({"_id": object_id(consultation_id, message="consultation not found")})
        if c is None:
            raise NotFound("not_found", "consultation not found / konsultasi tidak ditemukan")
        tg.consultation = c
    if ticket_id not in (None, ""):
        t = await svc.db.queue_tickets.find_one({"_id": object_id(ticket_id, message="ticket not found")})
        if t is None:
            raise NotFound("ticket_not_found", "ticket not found / tiket tidak ditemukan")
        tg.ticket = t
        if tg.consultation is None and t.get("consultation_id") is not None:
            tg.consultation = await svc.db.consultations.find_one({"_id": t["consultation_id"]})
    c, t = tg.consultation, tg.ticket
    if c is not None and t is not None and t.get("consultation_id") not in (None, c["_id"]):
        raise ValidationFailed("target_mismatch", "the ticket is not of this consultation", field="ticket_id")
    owner_office = (c or t or {}).get("office")
    if owner_office is not None and office is not None and owner_office != office:
        raise ValidationFailed("office_mismatch", "the consultation or ticket is of another office", field="office")
    if c is not None and actor is not None and not is_staff(actor) and c.get("user_id") != actor["_id"]:
        raise Forbidden("forbidden", "not your consultation / bukan konsultasi Anda")
    if c is not None and token not in (None, "") and t is None:
        cid, uid = _read_survey_token(svc, token)
        if cid != c["_id"] or uid != c.get("user_id"):
            raise Forbidden("forbidden", "this link is for another consultation / tautan untuk konsultasi lain")
        tg.verified = True
    if t is not None and token not in (None, ""):
        if not walkin_board.may_see_ticket(t, str(token), None):
            raise Forbidden("forbidden", "this link is for another ticket / tautan untuk tiket lain")
        tg.verified = True
    if owner_office is not None and _staff_of(actor, owner_office):
        tg.verified = True
    if c is not None and actor is not None and c.get("user_id") == actor["_id"]:
        tg.verified = True
    return tg


def public_response(r: Doc) -> Doc:
    """A stored response as its respondent and staff see it (never who the officer was)."""
    answers = r.get("answers") or {}
    one = index.ikm_from_sums(1, answers) if len(answers) == len(ELEMENT_KEYS) else None
    return {
        "id": str(r["_id"]),
        "office": r["office"],
        "channel": r.get("channel"),
        "consultation_id": sid(r.get("consultation_id")),
        "ticket_id": sid(r.get("ticket_id")),
        "answers": {k: answers.get(k) for k in ELEMENT_KEYS},
        "profile": r.get("profile"),
        "suggestion": r.get("suggestion"),
        "ikm": one["ikm"] if one else None,
        "grade": one["grade"] if one else None,
        "created_at": iso(r.get("created_at")),
    }


async def submit(
    svc: Services,
    actor: Doc | None,
    *,
    office: Any,
    channel: Any = None,
    consultation_id: Any = None,
    ticket_id: Any = None,
    answers: Any,
    profile: Any = None,
    suggestion: Any = None,
    token: Any = None,
) -> Doc:
    """POST /surveys/skm/responses: one response, once per consultation or ticket (409 already_answered)."""
    o = await _office(svc, office)
    clean_answers = validate_answers(answers)
    clean_profile = validate_profile(profile)
    clean_suggestion = _suggestion(suggestion)
    tg = await _target(svc, actor, o["code"], consultation_id, ticket_id, token)
    c, t = tg.consultation, tg.ticket
    if c is not None:
        the_channel = c.get("channel")
    elif t is not None:
        the_channel = "walk_in"
    else:
        if channel not in CHANNELS:
            raise ValidationFailed("invalid_channel", f"channel must be one of {', '.join(CHANNELS)}", field="channel")
        the_channel = channel
    ticket_ref = t["_id"] if t is not None else ((c or {}).get("walk_in") or {}).get("ticket_id")
    officer_id = (c or {}).get("assigned_to") or (t or {}).get("officer_id")
    officer_name = (c or {}).get("assigned_name") or (t or {}).get("officer_name")
    user_id = (c or {}).get("user_id")
    if user_id is None and actor is not None and not is_staff(actor):
        user_id = actor["_id"]
    doc: Doc = {
        "office": o["code"],
        "channel": the_channel,
        "answers": clean_answers,
        "profile": clean_profile,
        "suggestion": clean_suggestion,
        "officer_id": officer_id,
        "officer_name": officer_name,
        "user_id": user_id,
        "verified": tg.verified,
        "entered_by": actor["_id"] if is_staff(actor) and actor is not None else None,
        "created_at": svc.now(),
    }
    # Only set when known: the unique indexes are partial on an ObjectId being there.
    if c is not None:
        doc["consultation_id"] = c["_id"]
    if ticket_ref is not None:
        doc["ticket_id"] = ticket_ref
    try:
        res = await svc.db.skm_responses.insert_one(doc)
    except Exception as exc:
        if is_duplicate_key(exc):
            raise Conflict(
                "already_answered", "the survey was answered already for this service / survei sudah diisi"
            ) from None
        raise
    doc["_id"] = res.inserted_id
    log.info("skm response %s for office %s (%s)", doc["_id"], o["code"], the_channel)
    return public_response(doc)


async def target_info(svc: Services, actor: Doc | None, *, consultation_id: Any, ticket_id: Any, token: Any) -> Doc:
    """What the survey page is about (the office, the number, answered already?): only with proof it is yours."""
    if consultation_id in (None, "") and ticket_id in (None, ""):
        raise ValidationFailed("missing_target", "name a consultation or a ticket", field="consultation_id")
    tg = await _target(svc, actor, None, consultation_id, ticket_id, token)
    if not tg.verified:
        raise Forbidden("forbidden", "open the survey from your own link / buka survei dari tautan Anda")
    c, t = tg.consultation, tg.ticket
    office = await svc.db.offices.find_one({"code": (c or t or {}).get("office")}) or {}
    query: list[Doc] = []
    if c is not None:
        query.append({"consultation_id": c["_id"]})
    if t is not None:
        query.append({"ticket_id": t["_id"]})
    answered = await svc.db.skm_responses.find_one({"$or": query}, {"_id": 1}) is not None
    return {
        "office": office.get("code"),
        "office_name": office.get("name"),
        "time_zone": office.get("time_zone"),
        "channel": (c or {}).get("channel") or ("walk_in" if t is not None else None),
        "consultation_id": sid((c or {}).get("_id")),
        "ticket_id": sid((t or {}).get("_id")),
        # The walk-in visitor knows their queue number, the online user the consultation's.
        "number": (t or {}).get("number") or (c or {}).get("number"),
        "answered": answered,
    }


async def for_consultation(svc: Services, consultation_id: ObjectId) -> Doc | None:
    """The response given for a consultation, if any (the casebook shows it to staff)."""
    r = await svc.db.skm_responses.find_one({"consultation_id": consultation_id})
    return public_response(r) if r else None


async def offer_in_room(svc: Services, c: Doc) -> Doc:
    """After a consultation closes: the survey's link as a system message in its room (once per close).

    Returns the consultation as it is after the message (unchanged when the survey was answered already).
    """
    if await svc.db.skm_responses.find_one({"consultation_id": c["_id"]}, {"_id": 1}):
        return c
    stamp = c.get("closed_at") or svc.now()
    _, after = await messages.post_system_message(
        svc,
        c,
        "survey.offered",
        params={"link": mailing.survey_link(svc, c)},
        data={"event": "survey_offered"},
        client_id=f"skm:{c['_id']}:{int(stamp.timestamp())}",
    )
    return after


# --- the IKM of a period (server.domain.ikm) ------------------------------------------------------


async def ikm(svc: Services, office: str | Sequence[Doc], start: date, end: date) -> Doc:
    """{responses, elements: {KEY: {nrr}}, ikm, grade} of an office (a code, `all`, or office documents)
    over its local dates start..end, both included: the reports summary's `ikm` block."""
    return await index.of_period(svc, office, start, end)


async def report(svc: Services, offices: Sequence[Doc], start: date, end: date, *, label: str, lang: Any = "id") -> Doc:
    """GET /reports/ikm for an authorised period, with the elements' names in `lang`."""
    out = await index.report(svc, offices, start, end, label=label, lang=_lang(lang))
    out["labels"] = {e.key: e.label_en if _lang(lang) == "en" else e.label_id for e in ELEMENTS}
    return out
