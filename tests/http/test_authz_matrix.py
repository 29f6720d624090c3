"""The authorization matrix: 7 principals x every HTTP route (from the same declarations as the OpenAPI
document) and every socket event, each cell checked against who may do what.

Principals: anonymous; user A (owns the consultations); user B (a member of the public, not the owner);
an officer of the office (7406); an officer of another office (1808); a supervisor of the office; a
national admin. A cell is either *allowed* (a 2xx, or one of the statuses the route lists as a refusal on
the merits, such as 409 for a consultation already claimed) or *denied* with exactly the expected kind
(401 not signed in; 403/404 refused). Mutating routes get a fresh resource per cell, so an allowed cell
really succeeds. A route missing from ROUTES fails the test: a new route needs its row. Run with -s to see
the count of cells.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import socketio
from bson import ObjectId

from server.app import _all_apis
from server.domain import events as ev
from server.domain import walkin_board
from server.keys import SERVICES
from server.settings import Settings
from tests.conftest import Api, outbox_link
from tests.http import world as world_mod
from tests.http.world import OFFICE, OTHER_OFFICE, World

Doc = dict[str, Any]

PRINCIPALS = (
    "anonymous",
    "user_a",
    "user_b",
    "officer",
    "officer_other_office",
    "supervisor",
    "national_admin",
)
OK = "ok"
U = frozenset({401})  # not signed in
R = frozenset({403})  # the role may not
D = frozenset({403, 404})  # not theirs: refused, or not shown to exist

# Who may, by rule: principal -> "ok" or the statuses of the refusal.
RULES: dict[str, dict[str, Any]] = {
    "public": dict.fromkeys(PRINCIPALS, OK),
    "signed_in": {**dict.fromkeys(PRINCIPALS, OK), "anonymous": U},
    "member_of_public": {
        "anonymous": U,
        "user_a": OK,
        "user_b": OK,
        "officer": R,
        "officer_other_office": R,
        "supervisor": R,
        "national_admin": R,
    },
    "participant_or_office": {
        "anonymous": U,
        "user_a": OK,
        "user_b": D,
        "officer": OK,
        "officer_other_office": D,
        "supervisor": OK,
        "national_admin": OK,
    },
    "owner_only": {
        "anonymous": U,
        "user_a": OK,
        "user_b": D,
        "officer": D,
        "officer_other_office": D,
        "supervisor": D,
        "national_admin": D,
    },
    "office_staff": {
        "anonymous": U,
        "user_a": R,
        "user_b": R,
        "officer": OK,
        "officer_other_office": D,
        "supervisor": OK,
        "national_admin": OK,
    },
    "any_staff": {
        "anonymous": U,
        "user_a": R,
        "user_b": R,
        "officer": OK,
        "officer_other_office": OK,
        "supervisor": OK,
        "national_admin": OK,
    },
    "office_supervisor": {
        "anonymous": U,
        "user_a": R,
        "user_b": R,
        "officer": R,
        "officer_other_office": R,
        "supervisor": OK,
        "national_admin": OK,
    },
    "admin": {**dict.fromkeys(PRINCIPALS, R), "anonymous": U, "national_admin": OK},
    # Complaints: anyone, and staff recording one for their own office (from a letter, a call...).
    "anyone_but_other_office_staff": {**dict.fromkeys(PRINCIPALS, OK), "officer_other_office": D},
}


@dataclass
class Req:
    """One request of a cell: the path (with its ids), the body, and what counts as allowed besides a 2xx."""

    path: str
    body: Any = None
    also_allowed: frozenset[int] = frozenset()
    raw: bytes | None = None  # sent as is (with `headers`) instead of `body` as JSON
    headers: dict[str, str] = field(default_factory=dict)


Builder = Callable[["Ctx", str], Awaitable[Req]]


@dataclass
class Ctx:
    """The office and factories of fresh resources (user A's, in 7406) for mutating routes."""

    w: World
    db: Any
    n: int = 0

    def uid(self) -> str:
        self.n += 1
        return f"m{self.n}"

    async def consultation(self, state: str = "active") -> str:
        c = await world_mod.open_consultation(self.w.user_a, subject=f"Sel {self.n}")
        self.n += 1
        if state in ("active", "closed"):
            await self.w.officer.post(f"/consultations/{c['id']}/claim", expect=200)
        if state == "closed":
            await self.w.officer.post(f"/consultations/{c['id']}/close", {}, expect=200)
        return str(c["id"])

    async def meeting(self) -> str:
        cid = await self.consultation()
        m = await self.w.officer.post(
            f"/consultations/{cid}/meeting", {"provider": "link", "url": "https://meet.example.org/x"}, expect=201
        )
        return str((m.get("meeting") or m)["id"])

    async def visit(self, day: str = world_mod.TOMORROW) -> tuple[str, str]:
        """A consultation of user A with a visit booked for `day`: (consultation id, booking code)."""
        cid = await self.consultation()
        return cid, await world_mod.book_visit(self.w.user_a, cid, day)

    async def called_ticket(self) -> str:
        await self.w.anon.post(f"/offices/{OFFICE}/queue/tickets", {}, expect=201)
        called = await self.w.officer.post(f"/offices/{OFFICE}/queue/next", {"desk": "1"}, expect=200)
        return str(called["ticket"]["id"])

    async def canned(self) -> str:
        body = {"title": f"Salam {self.uid()}", "text": "Selamat pagi"}
        return str((await self.w.supervisor.post(f"/offices/{OFFICE}/canned-responses", body, expect=201))["id"])

    async def article(self) -> str:
        body = {"title": f"Artikel {self.uid()}", "body": "Isi.", "scope": OFFICE, "status": "published"}
        return str((await self.w.supervisor.post("/kb/articles", body, expect=201))["id"])

    async def complaint(self) -> str:
        body = {"office": OFFICE, "text": f"Lambat sekali {self.uid()}"}
        out = await self.w.user_a.post("/complaints", body, expect=201)
        return str(out["complaint"]["id"])

    async def followup(self) -> str:
        """A low rating with no complaint: a follow-up task for the office's supervisors."""
        cid = await self.consultation("closed")
        await self.w.user_a.post(f"/consultations/{cid}/rating", {"score": 1}, expect=201)
        found = await self.w.supervisor.get(f"/followups?office={OFFICE}")
        return str(next(f["id"] for f in found["followups"] if f["consultation_id"] == cid))


def shared(kind: str) -> Callable[[str], Builder]:
    """A builder over the world's shared resource `kind` (read-only routes)."""

    def make(template: str, body: Any = None, also: frozenset[int] = frozenset()) -> Builder:
        async def build(ctx: Ctx, who: str) -> Req:
            return Req(template.format(id=ctx.w.ids[kind], code=OFFICE), body, also)

        return build

    return make


def fixed(path: str, body: Any = None, also: frozenset[int] = frozenset()) -> Builder:
    async def build(ctx: Ctx, who: str) -> Req:
        return Req(path, body, also)

    return build


def fresh(factory: str, template: str, body: Any = None, also: frozenset[int] = frozenset(), **kw: Any) -> Builder:
    """A builder that makes a new resource for each cell (routes that change it)."""

    async def build(ctx: Ctx, who: str) -> Req:
        rid = await getattr(ctx, factory)(**kw)
        the_body = body(ctx) if callable(body) else body
        return Req(template.format(id=rid, code=OFFICE), the_body, also)

    return build


on_c = shared("consultation")
on_closed = shared("closed")
on_att = shared("attachment")
on_meeting = shared("meeting")
on_entry = shared("guestbook")
on_article = shared("article")
CONFLICT = frozenset({409})


async def _rating_token(ctx: Ctx, who: str) -> Req:
    """The signed link of a rating e-mail for a fresh closed consultation: whoever holds it may rate."""
    cid = await ctx.consultation("closed")
    doc = await ctx.db.outbox.find_one({"kind": "rating_request", "consultation_id": ObjectId(cid)})
    assert doc is not None
    found = re.search(r"token=([\w.\-]+)", doc["text"])
    assert found, doc["text"]
    return Req("/ratings/by-token", {"token": found.group(1), "score": 5})


async def _rating_token_get(ctx: Ctx, who: str) -> Req:
    req = await _rating_token(ctx, who)
    return Req(f"/ratings/by-token?token={req.body['token']}")


async def _register(ctx: Ctx, who: str) -> Req:
    return Req("/auth/register", {"email": f"baru-{ctx.uid()}@example.id", "password": "rahasia-123", "name": "B"})


async def _verify(ctx: Ctx, who: str) -> Req:
    email = f"verif-{ctx.uid()}@example.id"
    await ctx.w.anon.call("POST", "/auth/register", {"email": email, "password": "rahasia-123", "name": "V"})

    link = await outbox_link(ctx.db, email, "verify_email")
    return Req("/auth/verify", {"token": link.split("token=")[1]})


async def _reset_confirm(ctx: Ctx, who: str) -> Req:
    """A reset link of a throwaway account (a reset ends every session of the account it is for)."""
    email = f"lupa-{ctx.uid()}@example.id"
    await ctx.w.anon.call("POST", "/auth/register", {"email": email, "password": "rahasia-123", "name": "L"})
    await ctx.w.anon.call("POST", "/auth/password-reset", {"email": email}, expect=202)
    link = await outbox_link(ctx.db, email, "reset_password")
    return Req("/auth/password-reset/confirm", {"token": link.split("token=")[1], "password": "rahasia-baru"})


async def _login(ctx: Ctx, who: str) -> Req:
    return Req("/auth/login", {"email": "ayu@example.id", "password": "rahasia-123"})


async def _transfer(ctx: Ctx, who: str) -> Req:
    cid = await ctx.consultation()
    return Req(f"/consultations/{cid}/transfer", {"to_office": OTHER_OFFICE})


async def _message(ctx: Ctx, who: str) -> Req:
    return Req(f"/consultations/{ctx.w.ids['consultation']}/messages", {"text": "Halo", "client_id": ctx.uid()})


async def _erase(ctx: Ctx, who: str) -> Req:
    # A wrong password: an allowed caller gets the domain's 403 wrong_password, never an erasure.
    return Req("/me", {"password": "bukan-sandinya"}, frozenset({403}) if who in ("user_a", "user_b") else frozenset())


async def _visit(ctx: Ctx, who: str) -> Req:
    cid = await ctx.consultation()
    return Req(f"/consultations/{cid}/visit", {"date": world_mod.TOMORROW})


async def _prefill(ctx: Ctx, who: str) -> Req:
    qr = await ctx.w.user_a.get("/me/guestbook-qr")
    return Req(f"/offices/{OFFICE}/guestbook/prefill", {"qr_token": qr["token"]})


async def _redeem(ctx: Ctx, who: str) -> Req:
    """The kiosk redeems a visit booked for today by its code: whoever types the code."""
    _, code = await ctx.visit(world_mod.TODAY)
    return Req(f"/offices/{OFFICE}/queue/visits", {"code": code, "id_type": "ktp", "id_number": "74060199"})


async def _cancel_visit(ctx: Ctx, who: str) -> Req:
    cid, _ = await ctx.visit()
    return Req(f"/consultations/{cid}/visit")


async def _visit_by_code(ctx: Ctx, who: str) -> Req:
    return Req(f"/visits/{ctx.w.ids['visit_code']}")


async def _webhook_check(ctx: Ctx, who: str) -> Req:
    query = f"hub.mode=subscribe&hub.verify_token={WEBHOOK_VERIFY_TOKEN}&hub.challenge=42"
    return Req(f"/channels/whatsapp/webhook?{query}")


async def _webhook_post(ctx: Ctx, who: str) -> Req:
    """A notification signed with the app secret, as Meta sends it (nothing in it for any office)."""
    raw = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()
    sig = "sha256=" + hmac.new(WEBHOOK_APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return Req(
        "/channels/whatsapp/webhook", raw=raw, headers={"X-Hub-Signature-256": sig, "Content-Type": "application/json"}
    )


async def _survey_target(ctx: Ctx, who: str) -> Req:
    """The survey page of a ticket, with the ticket's token as the proof."""
    return Req(f"/surveys/skm/target?ticket_id={ctx.w.ids['ticket']}&token={ctx.w.ids['ticket_token']}")


async def _ticket_page(ctx: Ctx, who: str) -> Req:
    return Req(f"/queue/tickets/{ctx.w.ids['ticket']}?token={ctx.w.ids['ticket_token']}")


async def _skm(ctx: Ctx, who: str) -> Req:
    answers = dict.fromkeys(
        ["persyaratan", "prosedur", "waktu", "biaya", "produk", "kompetensi", "perilaku", "pengaduan", "sarana"], 4
    )
    return Req("/surveys/skm/responses", {"office": OFFICE, "channel": "walk_in", "answers": answers})


# Every route: (METHOD, path) -> (rule, builder). The rule is who may; the builder makes the request.
ROUTES: dict[tuple[str, str], tuple[str, Builder]] = {
    ("POST", "/auth/register"): ("public", _register),
    ("POST", "/auth/verify"): ("public", _verify),
    ("POST", "/auth/resend-verification"): ("public", fixed("/auth/resend-verification", {"email": "x@example.id"})),
    ("POST", "/auth/login"): ("public", _login),
    ("POST", "/auth/logout"): ("public", fixed("/auth/logout")),  # run last for each principal (see below)
    ("POST", "/auth/password-reset"): ("public", fixed("/auth/password-reset", {"email": "x@example.id"})),
    ("POST", "/auth/password-reset/confirm"): ("public", _reset_confirm),
    ("GET", "/me"): ("signed_in", fixed("/me")),
    ("PATCH", "/me"): ("signed_in", fixed("/me", {"lang": "id"})),
    ("GET", "/offices"): ("public", fixed("/offices")),
    ("GET", "/offices/{code}"): ("public", fixed(f"/offices/{OFFICE}")),
    ("PATCH", "/offices/{code}/policy"): ("admin", fixed(f"/offices/{OFFICE}/policy", {"sla_working_days": 5})),
    ("POST", "/consultations"): (
        "member_of_public",
        fixed("/consultations", {"office": OFFICE, "topic": "data", "subject": "Baru", "text": "Mohon data"}),
    ),
    ("GET", "/consultations"): ("signed_in", fixed("/consultations")),
    ("GET", "/consultations/{id}"): ("participant_or_office", on_c("/consultations/{id}")),
    ("GET", "/consultations/{id}/messages"): ("participant_or_office", on_c("/consultations/{id}/messages")),
    ("POST", "/consultations/{id}/messages"): ("participant_or_office", _message),
    ("POST", "/consultations/{id}/read"): ("participant_or_office", on_c("/consultations/{id}/read", {"seq": 1})),
    ("POST", "/consultations/{id}/claim"): (
        "office_staff",
        fresh("consultation", "/consultations/{id}/claim", state="queued"),
    ),
    ("POST", "/consultations/{id}/transfer"): ("office_staff", _transfer),
    ("POST", "/consultations/{id}/close"): (
        "participant_or_office",
        fresh("consultation", "/consultations/{id}/close", {}),
    ),
    ("POST", "/consultations/{id}/clarification"): (
        "office_staff",
        fresh("consultation", "/consultations/{id}/clarification", {"awaiting": True}),
    ),
    ("GET", "/offices/{code}/consultations/queue"): ("office_staff", fixed(f"/offices/{OFFICE}/consultations/queue")),
    ("POST", "/consultations/{id}/attachments"): ("participant_or_office", on_c("/consultations/{id}/attachments")),
    ("GET", "/attachments/{id}"): ("participant_or_office", on_att("/attachments/{id}")),
    ("GET", "/offices/{code}/canned-responses"): ("office_staff", fixed(f"/offices/{OFFICE}/canned-responses")),
    ("POST", "/offices/{code}/canned-responses"): (
        "office_supervisor",
        fixed(f"/offices/{OFFICE}/canned-responses", {"title": "Baru", "text": "Teks"}),
    ),
    ("PATCH", "/canned-responses/{id}"): (
        "office_supervisor",
        fresh("canned", "/canned-responses/{id}", {"text": "Ubah"}),
    ),
    ("DELETE", "/canned-responses/{id}"): ("office_supervisor", fresh("canned", "/canned-responses/{id}")),
    ("GET", "/consultations/{id}/deliveries"): ("office_staff", on_c("/consultations/{id}/deliveries")),
    # Any office's staff: an officer transferring a consultation picks a colleague of the other office.
    ("GET", "/offices/{code}/staff"): ("any_staff", fixed(f"/offices/{OFFICE}/staff")),
    ("GET", "/consultations/{id}/transcript"): ("participant_or_office", on_c("/consultations/{id}/transcript")),
    ("POST", "/consultations/{id}/transcript/email"): (
        "participant_or_office",
        on_closed("/consultations/{id}/transcript/email"),
    ),
    ("GET", "/kb/search"): ("public", fixed("/kb/search?q=rumput")),
    ("GET", "/kb/articles"): ("public", fixed("/kb/articles")),
    ("GET", "/kb/articles/{id}"): ("public", on_article("/kb/articles/{id}")),
    ("POST", "/kb/articles"): ("office_staff", fixed("/kb/articles", {"title": "T", "body": "B", "scope": OFFICE})),
    ("PATCH", "/kb/articles/{id}"): ("office_staff", fresh("article", "/kb/articles/{id}", {"title": "Ubah"})),
    ("GET", "/kb/misses"): ("office_supervisor", fixed("/kb/misses")),
    ("POST", "/consultations/{id}/kb-draft"): (
        "office_staff",
        fresh("consultation", "/consultations/{id}/kb-draft", state="closed"),
    ),
    ("GET", "/meetings/providers"): ("any_staff", fixed("/meetings/providers")),
    ("POST", "/consultations/{id}/meeting"): (
        "office_staff",
        fresh("consultation", "/consultations/{id}/meeting", {"provider": "link", "url": "https://meet.example.org/y"}),
    ),
    ("GET", "/meetings/{id}"): ("office_staff", on_meeting("/meetings/{id}")),
    ("PATCH", "/meetings/{id}"): (
        "office_staff",
        fresh("meeting", "/meetings/{id}", {"start_time": "2026-12-02T10:00:00+08:00"}, frozenset({409, 422})),
    ),
    ("DELETE", "/meetings/{id}"): ("office_staff", fresh("meeting", "/meetings/{id}")),
    ("POST", "/meetings/{id}/cancel"): ("office_staff", fresh("meeting", "/meetings/{id}/cancel")),
    ("GET", "/offices/{code}/visit-slots"): ("signed_in", fixed(f"/offices/{OFFICE}/visit-slots")),
    ("POST", "/consultations/{id}/visit"): ("participant_or_office", _visit),
    ("DELETE", "/consultations/{id}/visit"): ("participant_or_office", _cancel_visit),
    ("GET", "/visits/{code}"): ("office_staff", _visit_by_code),
    ("POST", "/consultations/{id}/rating"): (
        "owner_only",
        fresh("consultation", "/consultations/{id}/rating", {"score": 5}, state="closed"),
    ),
    ("GET", "/consultations/{id}/rating"): ("participant_or_office", on_closed("/consultations/{id}/rating")),
    ("GET", "/ratings/by-token"): ("public", _rating_token_get),
    ("POST", "/ratings/by-token"): ("public", _rating_token),
    ("POST", "/offices/{code}/guestbook"): (
        "public",
        fixed(
            f"/offices/{OFFICE}/guestbook",
            {"name": "T", "email": "t@example.org", "purpose": "Data", "id_type": "ktp", "id_number": "74060101"},
        ),
    ),
    ("POST", "/offices/{code}/guestbook/prefill"): ("public", _prefill),
    ("POST", "/offices/{code}/queue/tickets"): ("public", fixed(f"/offices/{OFFICE}/queue/tickets", {})),
    ("POST", "/offices/{code}/queue/visits"): ("public", _redeem),
    ("GET", "/me/guestbook-qr"): ("signed_in", fixed("/me/guestbook-qr")),
    ("GET", "/offices/{code}/queue"): ("public", fixed(f"/offices/{OFFICE}/queue")),
    # The phone page of a ticket: whoever holds its token (printed as a QR code on the ticket).
    ("GET", "/queue/tickets/{id}"): ("public", _ticket_page),
    ("GET", "/offices/{code}/queue/desk"): ("office_staff", fixed(f"/offices/{OFFICE}/queue/desk")),
    ("POST", "/offices/{code}/queue/next"): (
        "office_staff",
        fixed(f"/offices/{OFFICE}/queue/next", {"desk": "2"}, frozenset({404})),
    ),
    ("POST", "/queue/tickets/{id}/recall"): (
        "office_staff",
        fresh("called_ticket", "/queue/tickets/{id}/recall", {"desk": "1"}),
    ),
    ("POST", "/queue/tickets/{id}/serve"): ("office_staff", fresh("called_ticket", "/queue/tickets/{id}/serve")),
    ("POST", "/queue/tickets/{id}/no-show"): ("office_staff", fresh("called_ticket", "/queue/tickets/{id}/no-show")),
    ("POST", "/queue/tickets/{id}/done"): (
        "office_staff",
        fresh("called_ticket", "/queue/tickets/{id}/done", {}, frozenset({409})),
    ),
    ("POST", "/guestbook/{id}/reveal-id"): ("office_staff", on_entry("/guestbook/{id}/reveal-id")),
    ("GET", "/offices/{code}/queue/summary"): ("office_staff", fixed(f"/offices/{OFFICE}/queue/summary")),
    ("GET", "/reports/summary"): ("office_supervisor", fixed(f"/reports/summary?office={OFFICE}")),
    ("GET", "/reports/trends"): ("office_supervisor", fixed(f"/reports/trends?office={OFFICE}")),
    ("GET", "/reports/consultations"): ("office_supervisor", fixed(f"/reports/consultations?office={OFFICE}")),
    ("GET", "/reports/ikm"): ("office_supervisor", fixed(f"/reports/ikm?office={OFFICE}")),
    ("GET", "/offices/{code}/overview"): ("office_supervisor", fixed(f"/offices/{OFFICE}/overview")),
    ("GET", "/overview"): ("admin", fixed("/overview")),
    ("POST", "/consultations/{id}/take"): ("office_supervisor", fresh("consultation", "/consultations/{id}/take")),
    ("GET", "/history"): ("any_staff", fixed("/history")),
    ("GET", "/consultations/{id}/record"): ("office_staff", on_c("/consultations/{id}/record")),
    ("GET", "/consultations/{id}/requester"): ("office_staff", on_c("/consultations/{id}/requester")),
    ("GET", "/me/export"): ("signed_in", fixed("/me/export")),
    ("DELETE", "/me"): ("member_of_public", _erase),
    ("GET", "/audit"): ("admin", fixed("/audit")),
    ("GET", "/channels/whatsapp/webhook"): ("public", _webhook_check),
    ("POST", "/channels/whatsapp/webhook"): ("public", _webhook_post),
    ("GET", "/offices/{code}/channels"): ("admin", fixed(f"/offices/{OFFICE}/channels")),
    ("PATCH", "/offices/{code}/channels"): ("admin", fixed(f"/offices/{OFFICE}/channels", {})),
    ("POST", "/complaints"): (
        "anyone_but_other_office_staff",
        fixed("/complaints", {"office": OFFICE, "text": "Lambat", "name": "Anon", "email": "a@example.org"}),
    ),
    ("GET", "/complaints/assignees"): ("office_supervisor", fixed(f"/complaints/assignees?office={OFFICE}")),
    ("GET", "/complaints"): ("office_supervisor", fixed(f"/complaints?office={OFFICE}")),
    ("GET", "/complaints/{id}"): ("office_supervisor", fresh("complaint", "/complaints/{id}")),
    ("POST", "/complaints/{id}/status"): (
        "office_supervisor",
        fresh("complaint", "/complaints/{id}/status", {"status": "in_progress"}),
    ),
    ("POST", "/complaints/{id}/notes"): (
        "office_supervisor",
        fresh("complaint", "/complaints/{id}/notes", {"text": "Dicek"}),
    ),
    ("POST", "/complaints/{id}/assign"): ("office_supervisor", fresh("complaint", "/complaints/{id}/assign", {})),
    ("GET", "/followups"): ("office_supervisor", fixed(f"/followups?office={OFFICE}")),
    ("POST", "/followups/{id}/done"): (
        "office_supervisor",
        fresh("followup", "/followups/{id}/done", {"note": "Ditelepon"}),
    ),
    ("GET", "/surveys/skm"): ("public", fixed("/surveys/skm")),
    ("GET", "/surveys/skm/target"): ("public", _survey_target),
    ("POST", "/surveys/skm/responses"): ("public", _skm),
}

# Socket events: (event, rule, payload builder). Joining needs a consultation the principal may see.
SOCKET_EVENTS: dict[str, str] = {
    ev.CONSULTATION_JOIN: "participant_or_office",
    ev.CONSULTATION_LEAVE: "signed_in",
    ev.MESSAGE_SEND: "participant_or_office",
    ev.MESSAGE_READ: "participant_or_office",
    ev.TYPING: "participant_or_office",
    ev.BOARD_WATCH: "public",
}


WEBHOOK_VERIFY_TOKEN = "matriks-verify"
WEBHOOK_APP_SECRET = "matriks-secret"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No rate limits (one test sends hundreds of requests from one address); a WhatsApp app to sign for."""
    return settings.model_copy(
        update={
            "pst_rate_limits": False,
            "whatsapp_verify_token": WEBHOOK_VERIFY_TOKEN,
            "whatsapp_app_secret": WEBHOOK_APP_SECRET,
        }
    )


def _judge(rule: str, who: str, status: int, also: frozenset[int]) -> str | None:
    """None when the cell is as expected, else what was expected."""
    want = RULES[rule][who]
    if want == OK:
        return None if 200 <= status < 300 or status in also else "allowed (2xx)"
    return None if status in want else f"denied with {sorted(want)}"


@pytest.mark.timeout(900)
async def test_authorization_matrix(client: Any, anon: Api, make_user: Any, make_staff: Any, connect: Any) -> None:
    w = await world_mod.build(anon, make_user, make_staff)
    ctx = Ctx(w, client.app[SERVICES].db)
    routes = {(r.method.upper(), r.path): r for api in _all_apis() for r in api.routes}
    # A route without a row (added since) gets the checks its declared role level allows: refused to those
    # below it. It should get its row; the test names it.
    missing = sorted(set(routes) - set(ROUTES))
    rows = {k: v for k, v in ROUTES.items() if k in routes}
    principals = w.principals()
    wrong: list[str] = []
    on_merits: list[str] = []  # allowed past the authorization, refused on the merits (listed with -s)
    cells: Counter[str] = Counter()
    # The cookie jar of the shared test client would authenticate "anonymous": only bearer tokens here.
    client.session.cookie_jar.clear()
    generic = await _generic_cells(missing, routes, principals, wrong)
    order = sorted(rows, key=lambda k: k == ("POST", "/auth/logout"))  # logging out ends the session: last
    for key in order:
        rule, build = rows[key]
        method, _ = key
        for who, api in principals.items():
            req = await build(ctx, who)
            client.session.cookie_jar.clear()
            if key == ("POST", "/consultations/{id}/attachments"):
                status = await _upload_status(api, req.path)
            else:
                status = await _status(api, method, req)
            verdict = _judge(rule, who, status, req.also_allowed)
            cells["allowed" if RULES[rule][who] == OK else "denied"] += 1
            if RULES[rule][who] == OK and not 200 <= status < 300:
                on_merits.append(f"{method} {key[1]} as {who}: {status}")
            if verdict:
                wrong.append(f"{method} {key[1]} as {who}: {status}, expected {verdict}")
    # Logging out ended the sessions: sign the principals in again for the socket events.
    socket_cells = await _socket_matrix(ctx, make_user, make_staff, connect, client, wrong)
    http_cells = sum(cells.values())
    print(
        f"\nauthorization matrix: {len(rows)} routes x {len(PRINCIPALS)} principals = {http_cells} HTTP cells "
        f"({cells['allowed']} allowed, {cells['denied']} denied) + {len(SOCKET_EVENTS)} socket events x "
        f"{len(PRINCIPALS)} = {socket_cells} socket cells; {len(wrong)} unexpected"
    )
    if missing:
        print(f"routes without a row (only their role level checked, {generic} cells): {missing}")
    print("allowed cells refused on the merits:\n  " + "\n  ".join(on_merits))
    assert not wrong, "\n".join(wrong)
    assert http_cells == len(rows) * len(PRINCIPALS)


# The principals a declared role level refuses (server/http/api.py require_role), and with what.
_BELOW: dict[str, dict[str, frozenset[int]]] = {
    "user": {"anonymous": U},
    "staff": {"anonymous": U, "user_a": R, "user_b": R},
    "supervisor": {"anonymous": U, "user_a": R, "user_b": R, "officer": R, "officer_other_office": R},
    "admin": {
        "anonymous": U,
        "user_a": R,
        "user_b": R,
        "officer": R,
        "officer_other_office": R,
        "supervisor": R,
    },
}


async def _generic_cells(
    keys: list[tuple[str, str]], routes: dict[tuple[str, str], Any], principals: dict[str, Api], wrong: list[str]
) -> int:
    """Routes without a row: each principal below the route's role level is refused (path ids made up)."""
    count = 0
    for method, path in keys:
        below = _BELOW.get(routes[(method, path)].auth or "", {})
        concrete = re.sub(r"\{code\}", OFFICE, re.sub(r"\{id\}", "0" * 24, path))
        for who, want in below.items():
            count += 1
            status = await _status(principals[who], method, Req(concrete, {}))
            if status not in want:
                wrong.append(f"{method} {path} (no row) as {who}: {status}, expected {sorted(want)}")
    return count


async def _status(api: Api, method: str, req: Req) -> int:
    headers = {"Authorization": f"Bearer {api.token}"} if api.token else {}
    if req.raw is not None:
        resp = await api.client.request(method, "/api/v1" + req.path, data=req.raw, headers={**headers, **req.headers})
    else:
        resp = await api.client.request(method, "/api/v1" + req.path, json=req.body, headers=headers)
    await resp.read()
    return int(resp.status)


async def _upload_status(api: Api, path: str) -> int:
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(world_mod.PNG), filename="g.png", content_type="application/octet-stream")
    headers = {"Authorization": f"Bearer {api.token}"} if api.token else {}
    resp = await api.client.post("/api/v1" + path, data=form, headers=headers)
    await resp.read()
    return resp.status


async def _socket_matrix(ctx: Ctx, make_user: Any, make_staff: Any, connect: Any, client: Any, wrong: list[str]) -> int:
    """Every socket event for the seven principals: anonymous cannot connect to the consultation namespace."""
    w = ctx.w
    fresh_apis = {
        "user_a": await _relogin(w.user_a, "ayu@example.id", "rahasia-123"),
        "user_b": await _relogin(w.user_b, "bima@example.id", "rahasia-123"),
        "officer": await _relogin_staff(w.officer),
        "officer_other_office": await _relogin_staff(w.other_officer),
        "supervisor": await _relogin_staff(w.supervisor),
        "national_admin": await _relogin_staff(w.admin),
    }
    cid = w.ids["consultation"]
    cells = 0
    for event, rule in SOCKET_EVENTS.items():
        for who in PRINCIPALS:
            cells += 1
            want = RULES[rule][who]
            if event == ev.BOARD_WATCH:
                board = socketio.AsyncClient(reconnection=False)
                await board.connect(
                    str(client.make_url("/")), namespaces=[walkin_board.BOARD_NAMESPACE], transports=["websocket"]
                )
                ack = await board.call(event, {"office": OFFICE}, namespace=walkin_board.BOARD_NAMESPACE, timeout=10)
                await board.disconnect()
                if not ack.get("ok"):
                    wrong.append(f"socket {event} as {who}: {ack}")
                continue
            if who == "anonymous":
                try:
                    await connect(None)
                    wrong.append("socket connect as anonymous: connected, expected refused")
                except Exception:  # noqa: BLE001 - refused, as it must be
                    pass
                continue
            sock = await connect(fresh_apis[who])
            payload: Doc = {"consultation_id": cid}
            if event == ev.MESSAGE_SEND:
                payload.update(text="Halo dari soket", client_id=ctx.uid())
            elif event == ev.MESSAGE_READ:
                payload["seq"] = 1
            elif event == ev.TYPING:
                await sock.call(ev.CONSULTATION_JOIN, {"consultation_id": cid})
                payload["typing"] = True
            ack = await sock.call(event, payload)
            await sock.close()
            ok = bool(ack.get("ok"))
            if want == OK and not ok:
                wrong.append(f"socket {event} as {who}: {ack}, expected allowed")
            elif want != OK and ok:
                wrong.append(f"socket {event} as {who}: allowed, expected refused")
            elif want != OK and ack["error"]["code"] not in ("forbidden", "not_found"):
                wrong.append(f"socket {event} as {who}: {ack}, expected forbidden/not_found")
    return cells


async def _relogin(api: Api, email: str, password: str) -> Api:
    _, body = await api.call("POST", "/auth/login", {"email": email, "password": password}, expect=200)
    return Api(api.client, token=body["token"], user=body["user"])


async def _relogin_staff(api: Api) -> Api:
    assert api.user is not None
    return await _relogin(api, api.user["email"], "petugas-123")
