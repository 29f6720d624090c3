"""Request and response models: they validate input and are the OpenAPI document's schemas."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Request bodies share their base (unknown fields ignored, strings stripped) with socket payloads.
from server.domain.inputs import In as In


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- accounts ---------------------------------------------------------------------------------


class RegisterIn(In):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)
    name: str = Field(min_length=1, max_length=120)
    phone: str | None = Field(default=None, max_length=40)
    institution: str | None = Field(default=None, max_length=200)
    occupation: str | None = Field(default=None, max_length=120)
    lang: Literal["id", "en"] = "id"
    # The privacy notice (/privacy) was accepted; the pages do not register without it.
    consent: bool | None = None


class LoginIn(In):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)


class TokenIn(In):
    token: str = Field(min_length=1, max_length=200)


class EmailIn(In):
    email: str = Field(max_length=254)


class ResetIn(In):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(max_length=256)


class ProfileIn(In):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    phone: str | None = Field(default=None, max_length=40)
    institution: str | None = Field(default=None, max_length=200)
    occupation: str | None = Field(default=None, max_length=120)
    lang: Literal["id", "en"] | None = None


class UserOut(Out):
    id: str
    email: str
    name: str
    role: Literal["user", "officer", "supervisor", "admin"]
    office: str | None = None
    phone: str | None = None
    institution: str | None = None
    occupation: str | None = None
    lang: str = "id"
    email_verified: bool
    created_at: str | None = None


class LoginOut(Out):
    token: str
    user: UserOut


class OkOut(Out):
    ok: bool = True


class StaffIn(In):
    email: str = Field(max_length=254)
    name: str = Field(min_length=1, max_length=120)
    role: Literal["officer", "supervisor", "admin"]
    office: str | None = Field(default=None, pattern=r"^[0-9]{4}$")
    password: str = Field(max_length=256)


# --- offices ----------------------------------------------------------------------------------


class IdleCloseModel(BaseModel):
    amount: int
    unit: Literal["days", "working_days"]


class PolicyOut(Out):
    sla_working_days: int
    idle_close: IdleCloseModel
    walk_in_service_minutes: int = 10
    auto_assign: bool = False
    max_concurrent_rooms: int = 8
    sla_at_risk_margin_working_days: int = 1
    extra_closed_dates: list[str] = []
    idle_warning_lead: int | None = None
    complaint_working_days: int = 5


class OfficeOut(Out):
    code: str
    name: str
    province: str | None = None
    time_zone: str
    address: str | None = None
    website: str | None = None
    contacts: dict[str, Any]
    walk_in: dict[str, Any]
    policy: PolicyOut
    visit_hours: dict[str, Any] | None = None


class OfficesOut(Out):
    offices: list[OfficeOut]


class PolicyIn(In):
    """A partial policy change; what is omitted stays as it was."""

    sla_working_days: int | None = None
    idle_close: dict[str, Any] | None = None
    walk_in_service_minutes: int | None = None
    auto_assign: bool | None = None
    max_concurrent_rooms: int | None = None
    sla_at_risk_margin_working_days: int | None = None
    extra_closed_dates: list[str] | None = None
    idle_warning_lead: int | None = None
    complaint_working_days: int | None = None


class HealthOut(Out):
    status: Literal["ok", "unavailable"]
    database: bool


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail
