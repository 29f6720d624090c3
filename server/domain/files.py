"""Attachment rules: which files are accepted, judged by their content, not their name."""

from __future__ import annotations

import io
import re
import zipfile

from server.domain.errors import PayloadTooLarge, UnsupportedMedia, ValidationFailed

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "csv": "text/csv",
}


def _ooxml_kind(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    if any(n.startswith("word/") for n in names):
        return "docx"
    return None


def _looks_like_csv(data: bytes) -> bool:
    if b"\x00" in data[:65536]:
        return False
    try:
        text = data[:65536].decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data[:65536].decode("cp1252")
        except UnicodeDecodeError:
            return False
    lines = [ln for ln in text.splitlines() if ln.strip()][:20]
    if not lines:
        return False
    # A delimited table: the same delimiter on (nearly) every line.
    for delim in (",", ";", "\t"):
        if all(delim in ln for ln in lines):
            return True
    return len(lines) >= 1 and all(len(ln) < 2000 for ln in lines) and len(lines) == 1 and "," in lines[0]


def detect_type(data: bytes) -> str | None:
    """The kind of file ('pdf', 'png', 'jpg', 'xlsx', 'docx', 'csv') from its bytes, or None."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"PK\x03\x04"):
        return _ooxml_kind(data)
    if _looks_like_csv(data):
        return "csv"
    return None


_UNSAFE = re.compile(r"[^\w.\- ()\[\]]+", re.UNICODE)


def safe_filename(name: str | None, kind: str) -> str:
    """A file name safe to store and send back: no paths, no control characters, the right extension."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip(" ._")[:120] or "lampiran"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    ext = "jpg" if kind == "jpg" else kind
    return f"{stem}.{ext}"


def check_attachment(data: bytes, filename: str | None) -> tuple[str, str, str]:
    """Validate an upload; returns (kind, content_type, safe file name)."""
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise PayloadTooLarge("file_too_large", "the file is over 10 MB / berkas melebihi 10 MB")
    if not data:
        raise ValidationFailed("empty_file", "the file is empty / berkas kosong", field="file")
    kind = detect_type(data)
    if kind is None:
        raise UnsupportedMedia(
            "unsupported_file_type",
            "only PDF, XLSX, CSV, DOCX, PNG and JPG files / hanya PDF, XLSX, CSV, DOCX, PNG, JPG",
        )
    return kind, TYPES[kind], safe_filename(filename, kind)
