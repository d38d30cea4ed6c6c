"""Rows of a data file, whatever format it is in: JSON lines, parquet, or a saved
Hugging Face ``datasets`` folder.

Every task loader reads rows through ``read_rows``, so a set published as parquet or
saved with ``Dataset.save_to_disk`` loads as its JSON lines would, with no conversion
script. Each row comes with a ``where`` string (``file:line`` or ``file[row]``) for
error messages. Parquet is read with pyarrow and folders with ``datasets``; both are
optional (``pip install 'looplab[hf]'``) and a missing one is a one-line error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from looplab.errors import EvalError

__all__ = ["Rows", "is_dataset_folder", "read_rows", "split_suffix"]

Rows = list[tuple[str, dict[str, Any]]]
"""(where, row) pairs in file order."""

_DATASET_FILES = ("dataset_info.json", "dataset_dict.json", "state.json")
_HF_HINT = "pip install 'looplab[hf]'"


def is_dataset_folder(path: Path) -> bool:
    """True for a folder written by ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk``."""
    return path.is_dir() and any((path / name).is_file() for name in _DATASET_FILES)


def split_suffix(path: str | Path) -> tuple[Path, str | None]:
    """``FOLDER#SPLIT`` as (folder, split) when FOLDER is a saved datasets folder;
    a plain folder holding ``test.jsonl`` (a release's layout) as that file; any other
    path as it is (a ``#`` may be part of a file name)."""
    head, sep, split = str(path).rpartition("#")
    if sep and split and is_dataset_folder(Path(head)):
        return Path(head), split
    path = Path(path)
    if path.is_dir() and not is_dataset_folder(path) and (path / "test.jsonl").is_file():
        return path / "test.jsonl", None
    return path, None


def read_rows(path: str | Path, *, split: str | None = None, via_datasets: bool = False) -> Rows:
    """The rows of a ``.jsonl`` or ``.parquet`` file, or of a saved ``datasets`` folder.

    ``split`` picks one split of a saved ``DatasetDict`` (needed when it has several).
    ``via_datasets`` reads a file with the ``datasets`` library rather than directly
    (``hf:FILE``): the same rows, through the library its users load them with.
    """
    path = Path(path)
    if is_dataset_folder(path):
        return _dataset_rows(path, split)
    if split is not None:
        raise EvalError(f"{path}: a split (#{split}) needs a saved datasets folder")
    if not path.is_file():
        raise EvalError(f"no data file at {path}")
    suffix = path.suffix.lower()
    if via_datasets:
        return _file_rows_via_datasets(path, suffix)
    if suffix == ".parquet":
        return _parquet_rows(path)
    return _jsonl_rows(path)


def _jsonl_rows(path: Path) -> Rows:
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise EvalError(f"{where}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise EvalError(f"{where}: a task must be a JSON object")
            rows.append((where, row))
    return rows


def _parquet_rows(path: Path) -> Rows:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise EvalError(f"{path}: reading parquet needs pyarrow: {_HF_HINT}") from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise EvalError(f"{path}: not a readable parquet file ({exc})") from None
    return [(f"{path}[{i}]", row) for i, row in enumerate(table.to_pylist())]


def _datasets_module() -> Any:
    try:
        import datasets
    except ImportError:
        raise EvalError(f"hf: task sets need the datasets package: {_HF_HINT}") from None
    datasets.disable_progress_bars()
    return datasets


def _dataset_rows(path: Path, split: str | None) -> Rows:
    datasets = _datasets_module()
    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:  # datasets raises FileNotFoundError, ValueError, ...
        raise EvalError(f"{path}: not a readable datasets folder ({exc})") from None
    name = str(path)
    if isinstance(loaded, datasets.DatasetDict):
        splits = list(loaded)
        if split is None and len(splits) == 1:
            split = splits[0]
        if split not in loaded:
            choose = "choose one" if split is None else f"no split {split!r}"
            raise EvalError(f"{path}: {choose}: it has {', '.join(splits)} (PATH#SPLIT)")
        loaded, name = loaded[split], f"{path}#{split}"
    elif split is not None:
        raise EvalError(f"{path} holds one split, not a DatasetDict: drop #{split}")
    return [(f"{name}[{i}]", row) for i, row in enumerate(loaded)]


_BUILDERS = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".csv": "csv"}


def _file_rows_via_datasets(path: Path, suffix: str) -> Rows:
    builder = _BUILDERS.get(suffix)
    if builder is None:
        known = ", ".join(_BUILDERS)
        raise EvalError(f"{path}: hf: reads a datasets folder or a {known} file")
    datasets = _datasets_module()
    try:
        loaded = datasets.load_dataset(
            builder, data_files=str(path), split="train", keep_in_memory=True
        )
    except Exception as exc:
        raise EvalError(f"{path}: datasets could not read it ({exc})") from None
    return [(f"{path}[{i}]", row) for i, row in enumerate(loaded)]
