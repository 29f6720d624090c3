"""Demo data for a first look: staff for every office, a few users, consultations and KB articles.

Everything goes through the same domain actions the product uses; running it twice adds nothing twice.
"""

from __future__ import annotations

import logging
from typing import Any

from server.domain import accounts, messages
from server.domain import consultations as cons
from server.services import Services

log = logging.getLogger(__name__)

Doc = dict[str, Any]

DEMO_PASSWORD = "demo-pst-2026"

USERS = [
    ("sari.demo@example.id", "Sari Wulandari", "Universitas Halu Oleo", "Mahasiswa"),
    ("budi.demo@example.id", "Budi Santoso", "Dinas Pertanian", "ASN"),
    ("rina.demo@example.id", "Rina Marlina", "PT Sumber Data", "Peneliti"),
]

CONSULTATIONS = [
    (
        "7406",
        "data",
        "Data inflasi Kabupaten Bombana",
        "Selamat pagi, apakah tersedia data inflasi bulanan untuk Kabupaten Bombana tahun 2025?",
    ),
    (
        "1600",
        "metadata",
        "Definisi tingkat pengangguran terbuka",
        "Mohon penjelasan konsep dan definisi TPT yang dipakai BPS, serta sumber datanya.",
    ),
    (
        "7501",
        "classification",
        "Kode KBLI untuk usaha kopi bubuk",
        "Usaha saya memproduksi kopi bubuk kemasan. Kode KBLI 2020 yang tepat apa ya?",
    ),
]


async def _ensure_staff(svc: Services, email: str, name: str, role: str, office: str | None) -> Doc:
    existing = await svc.db.users.find_one({"email": email})
    if existing:
        return existing
    return await accounts.create_staff(svc, email=email, name=name, role=role, office=office, password=DEMO_PASSWORD)


async def _ensure_user(svc: Services, email: str, name: str, institution: str, occupation: str) -> Doc:
    existing = await svc.db.users.find_one({"email": email})
    if existing:
        return existing
    user = await accounts.register(
        svc,
        email=email,
        password=DEMO_PASSWORD,
        name=name,
        institution=institution,
        occupation=occupation,
        notify_existing=False,
    )
    if user is None:  # registered meanwhile (register tells no conflict)
        found = await svc.db.users.find_one({"email": email})
        assert found is not None
        return found
    # Demo accounts skip the e-mail round trip.
    await svc.db.users.update_one({"_id": user["_id"]}, {"$set": {"email_verified_at": svc.now()}})
    user["email_verified_at"] = svc.now()
    return user


async def _seed_articles(svc: Services) -> int:
    from server.domain import kb

    seeder = getattr(kb, "seed_articles", None)
    if seeder is None:
        return 0
    n: int = await seeder(svc)
    return n


async def seed_demo(svc: Services) -> list[str]:
    """Create the demo data; returns lines describing what exists for the operator to read."""
    lines = [f"demo password for every demo account: {DEMO_PASSWORD}"]
    offices = [o async for o in svc.db.offices.find({}, {"code": 1, "name": 1}).sort("code", 1)]
    officers: dict[str, Doc] = {}
    for o in offices:
        code = o["code"]
        officers[code] = await _ensure_staff(
            svc, f"petugas{code}@demo.bps.go.id", f"Petugas PST {code}", "officer", code
        )
        await _ensure_staff(svc, f"supervisor{code}@demo.bps.go.id", f"Supervisor PST {code}", "supervisor", code)
        lines.append(f"office {code} {o['name']}: petugas{code}@demo.bps.go.id, supervisor{code}@demo.bps.go.id")
    await _ensure_staff(svc, "admin@demo.bps.go.id", "Admin Nasional", "admin", None)
    lines.append("national admin: admin@demo.bps.go.id")
    users = [await _ensure_user(svc, *u) for u in USERS]
    lines.append("users: " + ", ".join(u["email"] for u in users))
    made = 0
    for (office, topic, subject, text), user in zip(CONSULTATIONS, users, strict=True):
        if await svc.db.consultations.find_one({"user_id": user["_id"], "subject": subject}):
            continue
        c, _ = await cons.open_consultation(
            svc, user, office=office, topic=topic, subject=subject, text=text, kb_query=subject.lower()
        )
        if office != "7501":
            c = await cons.claim(svc, officers[office], c)
            await messages.post_message(svc, officers[office], c, text="Terima kasih, permintaan Anda kami proses.")
        made += 1
    lines.append(f"consultations created: {made}")
    lines.append(f"knowledge-base articles added: {await _seed_articles(svc)}")
    return lines
