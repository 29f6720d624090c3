"""Reading incoming mail (pure): the new text only, thread ids, machines told apart; IMAP settings checked."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from server.domain.email_channel import clean_subject
from server.integrations.imap import ImapAccount, _chunks
from server.integrations.inbound_mail import html_to_text, parse_mail, trim_reply
from server.settings import SettingsError, load_settings


def _raw(text: str = "Halo", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Sari <sari@example.org>")
    msg["To"] = "bps7406@bps.go.id"
    msg["Subject"] = headers.pop("Subject", "Data")
    msg["Message-ID"] = "<m1@example.org>"
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    msg.set_content(text)
    return msg.as_bytes()


@pytest.mark.parametrize(
    "text",
    [
        "Terima kasih.\n\nOn Mon, 23 Nov 2026 at 10:00, PST <a@b.id> wrote:\n> lama\n> lama",
        "Terima kasih.\n\nPada Sen, 23 Nov 2026 10.00, PST <a@b.id> menulis:\n> lama",
        "Terima kasih.\n\nOn Mon, 23 Nov 2026 at 10:00, PST Bombana\n<a@b.id> wrote:\n> lama",
        "Terima kasih.\n\n-----Original Message-----\nFrom: PST\nSent: Monday\n\nlama",
        "Terima kasih.\n\n________________________________\nFrom: PST <a@b.id>\nlama",
        "Terima kasih.\n\n-- \nSari Wulandari\nUniversitas Halu Oleo",
        "Terima kasih.\n\nSent from my iPhone",
        "> lama\nTerima kasih.\n> lama juga",
    ],
)
def test_quoted_history_and_signatures_are_cut(text: str) -> None:
    assert trim_reply(text) == "Terima kasih."


def test_a_plain_mail_keeps_its_paragraphs() -> None:
    assert trim_reply("Halo,\n\n\n\nSaya minta data.\n\nSalam,\nSari\n") == "Halo,\n\nSaya minta data.\n\nSalam,\nSari"


def test_html_only_mail_is_read_without_its_blockquote() -> None:
    html = "<html><body><p>Terima kasih &amp; salam</p><blockquote>lama</blockquote></body></html>"
    assert html_to_text(html).strip() == "Terima kasih & salam"


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Auto_Submitted": "auto-replied"}, "Auto-Submitted"),
        ({"From": "MAILER-DAEMON@example.org"}, "mailer-daemon"),
        ({"From": "postmaster@example.org"}, "postmaster"),
        ({"Precedence": "bulk"}, "bulk"),
        ({"X_Autoreply": "yes"}, "X-Autoreply"),
        ({"Return_Path": "<>"}, "bounce"),
        ({"List_Id": "<berita.example.org>"}, "list"),
    ],
)
def test_machines_are_recognised(headers: dict[str, str], why: str) -> None:
    parsed = parse_mail(_raw(**headers))
    assert parsed.machine is not None and why.lower() in parsed.machine.lower()


def test_a_person_and_the_thread_ids() -> None:
    raw = _raw(
        Subject="Re: Data IPM [7406-2026-00012]",
        In_Reply_To="<b@pst.test>",
        References="<a@example.org> <b@pst.test>",
        Auto_Submitted="no",
    )
    parsed = parse_mail(raw)
    assert parsed.machine is None and parsed.from_addr == "sari@example.org" and parsed.from_name == "Sari"
    assert parsed.thread_ids == ["<b@pst.test>", "<a@example.org>"]
    assert parsed.subject_number == "7406-2026-00012"
    assert clean_subject(parsed.subject) == "Data IPM"
    assert clean_subject("RE: Fwd: AW: Tabel") == "Tabel"


def test_imap_urls_are_read_without_showing_the_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    account = ImapAccount.from_url("imaps://pst%40bps.go.id:rahasia%2F1@imap.bps.go.id/Kotak%20Masuk")
    assert (account.user, account.password, account.port, account.mailbox, account.tls) == (
        "pst@bps.go.id",
        "rahasia/1",
        993,
        "Kotak Masuk",
        True,
    )
    assert "rahasia" not in repr(account) and "rahasia" not in account.describe()
    good = tmp_path / "imap.json"
    good.write_text(json.dumps({"7406": "imap://u:rahasia@127.0.0.1:1143/INBOX"}))
    assert load_settings(pst_imap_accounts_file=good).imap_accounts() == {
        "7406": "imap://u:rahasia@127.0.0.1:1143/INBOX"
    }
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"7406": "http://u:rahasia@host/"}))
    with pytest.raises(SettingsError) as err:
        load_settings(pst_imap_accounts_file=bad)
    assert "PST_IMAP_ACCOUNTS_FILE" in str(err.value) and "rahasia" not in str(err.value)
    monkeypatch.setenv("PST_IMAP_1808_URL", "imaps://nopassword@host")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "PST_IMAP_1808_URL" in str(err.value)
    monkeypatch.setenv("PST_IMAP_1808_URL", "imaps://u:p@imap.example.org")
    assert load_settings(pst_imap_accounts_file=good).imap_accounts()["1808"] == "imaps://u:p@imap.example.org"


def test_fetches_are_grouped_by_size() -> None:
    sizes = {1: 10, 2: 10, 3: 100, 4: 10, 5: 10}
    assert _chunks([1, 2, 3, 4, 5], sizes, 25) == [[1, 2], [3], [4, 5]]
