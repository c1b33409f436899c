"""What the commands read and write: argument types with ranges, output paths checked before any work starts, and
CSV tables whose every problem is a one-line DataError naming the file, row and column."""
from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

from ..errors import DataError, PathError
from ..utils.files import input_file, writable_file


def positive_int(text: str) -> int:
    """An argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r:.40} is not a positive integer")
    return value


def read_csv(path: str | os.PathLike, columns: tuple[str, ...] = (), what: str = "CSV file"
             ) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of a CSV file; a DataError when it is missing, not UTF-8 text, malformed, has no rows,
    lacks one of ``columns`` or has a row that lacks a value."""
    path = input_file(path, what)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            rows = list(reader)
    except UnicodeDecodeError as e:
        raise DataError(f"{path} is not UTF-8 text (byte {e.start}); save the {what} as UTF-8") from None
    except csv.Error as e:
        raise DataError(f"{path} is not a valid {what} ({e})") from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(f"{path} has no column(s) {', '.join(missing)}; its columns: "
                        f"{', '.join(header)[:200] or 'none'}")
    if not rows:
        raise DataError(f"{path} has a header but no rows")
    for i, row in enumerate(rows):
        gap = next((c for c in columns if row.get(c) is None), None)
        if gap is not None:
            raise DataError(f"{path} row {i + 2} has no value in column {gap!r}; the file is damaged")
    return header, rows


def output_file(text: str) -> Path:
    """An argparse type: a file the command will write, checked before any work
    (:func:`~nape_plugin.utils.files.writable_file`)."""
    try:
        return writable_file(text)
    except PathError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def output_folder(text: str) -> Path:
    """An argparse type: a folder the command will write files into, created now and checked to be writable."""
    path = Path(text)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise argparse.ArgumentTypeError(f"cannot create the folder {path}: {e.strerror or e}") from None
    if not os.access(path, os.W_OK):
        raise argparse.ArgumentTypeError(f"no permission to write in {path}")
    return path
