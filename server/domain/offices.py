"""Offices: their policy and contacts, and the admin's changes to them."""

from __future__ import annotations

from typing import Any

from server.domain.calendar import validate_policy
from server.domain.errors import Forbidden, NotFound
from server.services import Services

Doc = dict[str, Any]


async def get_office(svc: Services, code: str) -> Doc:
    """The office (kept by this process: svc.offices; treat it as read-only)."""
    office = svc.offices.get(code)
    if office is not None:
        return office
    office = await svc.db.offices.find_one({"code": code})
    if office is None:
        raise NotFound("office_not_found", f"no office with code {code!r} / kantor tidak ditemukan")
    svc.offices.put(code, office)
    return office


async def list_offices(svc: Services) -> list[Doc]:
    return [o async for o in svc.db.offices.find({}).sort("code", 1)]


def can_administer(user: Doc, code: str) -> bool:
    """National admins administer every office; an office admin only their own."""
    return user.get("role") == "admin" and user.get("office") in (None, code)


async def update_policy(svc: Services, user: Doc, code: str, changes: Doc) -> Doc:
    """Merge `changes` into the office policy after validating the whole result."""
    if not can_administer(user, code):
        raise Forbidden("forbidden", "only an admin of this office may change its policy")
    office = await get_office(svc, code)
    merged = dict(office.get("policy") or {})
    merged.update({k: v for k, v in changes.items() if v is not None})
    policy = validate_policy(merged)
    updated = await svc.db.offices.find_one_and_update(
        {"code": code}, {"$set": {"policy": policy, "updated_at": svc.now()}}, return_document=True
    )
    assert updated is not None
    await svc.offices.changed(code)
    return updated
