"""Opening an uploaded export whatever it is: CSV/TSV (any common encoding, title rows, `;` or tab), gzip,
XLSX or JSON — refusing junk with a clear reason — and streaming it as all-text polars chunks.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

LINE_COLUMN = "_line"
CHUNK_ROWS = 100000
_SNIFF_LINES = 40
_DELIMITERS = (",", ";", "\t", "|")


class UnreadableFile(ValueError):
    """The file cannot be read as an export; the message says why, for the user."""


EMPTY_FILE = "The file is empty."
NO_HEADER = "No header row found: the first lines do not look like a table."
LEGACY_XLS = "Legacy .xls workbooks are not supported: save the sheet as .xlsx or CSV."
ZIP_NOT_XLSX = "This is a zip archive, not an .xlsx workbook: upload the export inside it."
BINARY_JUNK = "This does not look like a text export, a workbook or JSON (binary content)."
JSON_NOT_TABLE = "JSON exports must be a list of objects (or one object per line)."
RAGGED_ROWS = "Some rows have more fields than the header (line {line}): the file may mix two exports."


@dataclass
class SourceFile:
    """A readable table: where it is as UTF-8 text (or rows), its headers, and how it was detected."""

    kind: str  # csv | xlsx | json
    encoding: str
    headers: list[str]
    delimiter: str = ","
    header_line: int = 1  # 1-based line of the header row in the source
    compressed: bool = False
    path: Path | None = None  # UTF-8 text for csv
    rows: list[list[str]] | None = None  # data rows for xlsx/json
    sample: list[list[str]] = field(default_factory=list)

    @property
    def title_rows(self) -> int:
        return self.header_line - 1

    def describe(self) -> dict:
        return {"type": self.kind, "encoding": self.encoding, "delimiter": self.delimiter,
                "title_rows": self.title_rows, "gzip": self.compressed}

    def batches(self, chunk_rows: int | None = None) -> Iterator[pl.DataFrame]:
        """All columns as text (null for empty), plus `_line`: the 1-based source line of each row."""
        chunk_rows = chunk_rows or CHUNK_ROWS
        if self.kind == "csv":
            yield from self._csv_batches(chunk_rows)
            return
        rows = self.rows or []
        for start in range(0, len(rows), chunk_rows):
            block = rows[start:start + chunk_rows]
            data = {name: [row[i] if i < len(row) else None for row in block] for i, name in enumerate(self.headers)}
            frame = pl.DataFrame(data, schema={name: pl.Utf8 for name in self.headers})
            frame = frame.with_columns(pl.when(pl.col(pl.Utf8).str.strip_chars() == "").then(None)
                                       .otherwise(pl.col(pl.Utf8)).name.keep())
            first = self.header_line + 1 + start
            yield frame.with_columns(pl.int_range(first, first + len(block), dtype=pl.Int64).alias(LINE_COLUMN))

    def _csv_batches(self, chunk_rows: int) -> Iterator[pl.DataFrame]:
        scan = pl.scan_csv(
            self.path, separator=self.delimiter, skip_lines=self.header_line - 1, has_header=True,
            infer_schema=False, new_columns=self.headers, row_index_name=LINE_COLUMN,
            row_index_offset=self.header_line + 1, encoding="utf8", raise_if_empty=False,
        )
        try:
            for frame in scan.collect_batches(chunk_size=chunk_rows):
                yield frame.with_columns(pl.col(LINE_COLUMN).cast(pl.Int64))
        except pl.exceptions.ComputeError as exc:
            message = str(exc)
            if "fields" in message or "ragged" in message:
                raise UnreadableFile(RAGGED_ROWS.format(line="?")) from exc
            raise UnreadableFile(f"The file could not be parsed as delimited text: {message.splitlines()[0]}") from exc


def open_source(path: Path, *, workdir: Path) -> SourceFile:
    """Detect what `path` holds and make it readable; raises UnreadableFile with the reason."""
    head = _read_head(path)
    if not head:
        raise UnreadableFile(EMPTY_FILE)
    if head.startswith(b"\x1f\x8b"):
        plain = workdir / "decompressed"
        with gzip.open(path, "rb") as source, open(plain, "wb") as target:
            try:
                shutil.copyfileobj(source, target, 1 << 20)
            except (OSError, EOFError) as exc:
                raise UnreadableFile(f"The gzip file is damaged: {exc}") from exc
        source_file = open_source(plain, workdir=workdir)
        source_file.compressed = True
        return source_file
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFile(LEGACY_XLS)
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path)
    encoding = _detect_encoding(path, head)
    text_path = path if encoding in ("utf-8", "utf-8-sig") else _transcode(path, encoding, workdir / "utf8.txt")
    first = _first_text(text_path)
    if "\x00" in first or _control_share(first) > 0.05:
        raise UnreadableFile(BINARY_JUNK)
    stripped = first.lstrip("\ufeff \r\n\t")
    if not stripped:
        raise UnreadableFile(EMPTY_FILE)
    if stripped[0] in "[{":
        return _open_json(text_path, encoding)
    return _open_delimited(text_path, encoding, first)


def _read_head(path: Path, size: int = 65536) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


def _detect_encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    # UTF-16 without a BOM: every other byte of ASCII text is NUL.
    if len(head) >= 4 and head[1::2].count(0) > len(head) * 0.4:
        return "utf-16-le"
    if len(head) >= 4 and head[0::2].count(0) > len(head) * 0.4:
        return "utf-16-be"
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as handle:
        try:
            while block := handle.read(1 << 24):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def _transcode(path: Path, encoding: str, target: Path) -> Path:
    # cp1252 leaves five bytes undefined; latin-1 reads those the way spreadsheets do.
    errors = "strict" if encoding.startswith("utf-16") else "replace"
    with open(path, encoding=encoding, errors=errors, newline="") as source, \
            open(target, "w", encoding="utf-8", newline="") as out:
        try:
            shutil.copyfileobj(source, out, 1 << 20)
        except UnicodeDecodeError as exc:
            raise UnreadableFile(f"The file is not valid {encoding} text.") from exc
    return target


def _first_text(path: Path, size: int = 65536) -> str:
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        return handle.read(size)


def _control_share(sample: str) -> float:
    if not sample:
        return 0.0
    controls = sum(1 for char in sample if ord(char) < 32 and char not in "\r\n\t")
    return controls / len(sample)


def _header_position(rows: list[list[str]]) -> int | None:
    """Index of the header: the first row of ≥ 2 non-empty fields whose width the next rows share."""
    for index, row in enumerate(rows):
        width = len(row)
        if sum(1 for cell in row if cell.strip()) < 2:
            continue
        following = rows[index + 1:index + 6]
        if not following or all(len(other) == width for other in following):
            return index
        if sum(1 for other in following if len(other) == width) >= max(1, len(following) - 1):
            return index
    return None


def _open_delimited(path: Path, encoding: str, first: str) -> SourceFile:
    lines = first.lstrip("\ufeff").splitlines()[:_SNIFF_LINES]
    best: tuple[int, str, int, list[list[str]]] | None = None
    for delimiter in _DELIMITERS:
        rows = list(csv.reader(lines, delimiter=delimiter))
        position = _header_position(rows)
        if position is None:
            continue
        width = len(rows[position])
        if best is None or width > best[0]:
            best = (width, delimiter, position, rows)
    if best is None or best[0] < 2:
        raise UnreadableFile(NO_HEADER)
    _, delimiter, position, rows = best
    headers = [cell.replace("\ufeff", "") for cell in rows[position]]
    return SourceFile(kind="csv", encoding=encoding, headers=headers, delimiter=delimiter,
                      header_line=position + 1, path=path, sample=rows[position + 1:position + 21])


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # 36000291452.0 is an id or a count, not a float
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if getattr(value, "hour", 0) == 0 else value.isoformat()
    return str(value)


def _open_xlsx(path: Path) -> SourceFile:
    import openpyxl

    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile as exc:
        raise UnreadableFile(f"The workbook is damaged: {exc}") from exc
    if "[Content_Types].xml" not in names or not any(name.startswith("xl/") for name in names):
        raise UnreadableFile(ZIP_NOT_XLSX)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for damaged parts
        raise UnreadableFile(f"The workbook could not be read: {exc}") from exc
    sheet = workbook.worksheets[0]
    rows = [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if not rows:
        raise UnreadableFile(EMPTY_FILE)
    # Trailing empty columns come from formatting, not data.
    width = max((max((i + 1 for i, cell in enumerate(row) if cell.strip()), default=0) for row in rows), default=0)
    rows = [row[:width] + [""] * (width - len(row)) for row in rows]
    position = _header_position(rows[:_SNIFF_LINES])
    if position is None:
        raise UnreadableFile(NO_HEADER)
    return SourceFile(kind="xlsx", encoding="xlsx", headers=rows[position], header_line=position + 1,
                      rows=rows[position + 1:], sample=rows[position + 1:position + 21])


def _open_json(path: Path, encoding: str) -> SourceFile:
    text = path.read_text(encoding="utf-8-sig")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = [json.loads(line) for line in io.StringIO(text) if line.strip()]
        except json.JSONDecodeError as exc:
            raise UnreadableFile(f"The JSON is malformed: {exc}") from exc
    if isinstance(data, dict):
        # API responses wrap the rows: {"reports": [...]} or {"data": [...]}.
        lists = [value for value in data.values() if isinstance(value, list)]
        data = lists[0] if len(lists) == 1 else [data]
    if not isinstance(data, list) or not data or not all(isinstance(row, dict) for row in data):
        raise UnreadableFile(JSON_NOT_TABLE)
    headers: list[str] = []
    for row in data:
        for key in row:
            if key not in headers:
                headers.append(key)
    rows = [[_cell_text(row.get(key)) for key in headers] for row in data]
    return SourceFile(kind="json", encoding=encoding, headers=headers, header_line=1, rows=rows, sample=rows[:20])


def open_upload_workdir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="rmn-ingest-")
