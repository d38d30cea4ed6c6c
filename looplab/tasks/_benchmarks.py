"""The field's answer kinds from local files: multiple choice, short-answer QA and
MBPP-style code (MATH is in ``_math``).

Each loader reads rows through ``read_rows`` (JSON lines, parquet or a saved
``datasets`` folder, ``FOLDER#SPLIT`` for one split) and knows the column names of
the usual releases; a mapping (field -> column) names others. Columns no field takes
go into metadata, never shown to a loop.

- ``choice``: ``question`` (or ``prompt``/``stem``/``question_stem``), ``choices``
  (or ``options``): a list of texts (AQuA's ``"A)21"`` prefixes are removed) or
  ``{"text": [...], "label": [...]}`` (CommonsenseQA, ARC, OpenBookQA); the answer
  (``answer``, ``answerKey``, ``correct`` or ``label``): a letter, a label of the
  record's own, a 0-based index (MMLU) or a choice's text. The prompt lists the
  choices as A, B, ... in the record's order.
- ``qa``: ``question``, an optional ``context`` (SQuAD: the prompt is the passage,
  then the question), the answer (``answer`` or ``answers``): a string, a list (the
  first is the reference, the rest aliases), SQuAD's ``{"text": [...]}`` or
  TriviaQA's ``{"value": ..., "aliases": [...]}``.
- ``mbpp``: ``text`` (or ``prompt``), ``test_list`` (assert lines), optional
  ``test_setup_code``, ``challenge_test_list`` and ``code`` (the reference, for
  ``tasks check``). The function's name is read from the first test; the first test
  is visible to the loop, all of them grade.
"""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path
from typing import Any

from looplab.errors import EvalError
from looplab.records import Task
from looplab.sandbox import check_from_asserts
from looplab.tasks._rows import read_rows, split_suffix

__all__ = ["choice_tasks", "mbpp_entry_point", "mbpp_tasks", "qa_tasks"]

_PREFIX = re.compile(r"^\s*\(?([A-Z])\s*[).:]\s*")


def _rows(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    folder, split = split_suffix(path)
    rows = read_rows(folder, split=split)
    if not rows:
        raise EvalError(f"{path} holds no tasks")
    return rows


def _column(
    row: dict[str, Any], where: str, field: str, mapping: dict[str, str], names: tuple[str, ...]
) -> tuple[str | None, Any]:
    """(the column that fills ``field``, its value): the mapped one, else the first of
    ``names`` the row has; (None, None) when none."""
    if field in mapping:
        column = mapping[field]
        if column not in row:
            raise EvalError(
                f"{where}: no column {column!r} (mapped to {field}); its columns: {', '.join(row)}"
            )
        return column, row[column]
    for name in names:
        if name in row:
            return name, row[name]
    return None, None


def _check_mapping(mapping: dict[str, str], fields: tuple[str, ...], family: str) -> None:
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        raise EvalError(f"{family}: {unknown[0]!r} is not a field: map any of {', '.join(fields)}")


def _task_id(row: dict[str, Any], id_column: str | None, path: str | Path, index: int) -> str:
    for column in (id_column, "id", "task_id", "unique_id", "question_id", "qid"):
        if column and row.get(column) is not None:
            return str(row[column])
    return f"{Path(str(path).split('#')[0]).stem}-{index}"


def _unique(tasks: list[Task], path: str | Path) -> list[Task]:
    seen: set[str] = set()
    for task in tasks:
        if task.id in seen:
            raise EvalError(f"{path}: duplicate id {task.id!r}")
        seen.add(task.id)
    return tasks


def _choices(value: Any, where: str) -> tuple[list[str], list[str] | None]:
    """(choice texts, the record's own labels if it has them)."""
    labels = None
    if isinstance(value, dict) and "text" in value:
        texts, labels = list(value["text"]), value.get("label")
        labels = [str(x) for x in labels] if labels is not None else None
    elif isinstance(value, list | tuple):
        texts = [str(x) for x in value]
        prefixed = [_PREFIX.match(t) for t in texts]
        if texts and all(m and m[1] == chr(ord("A") + i) for i, m in enumerate(prefixed)):
            texts = [t[m.end() :] for t, m in zip(texts, prefixed, strict=True)]  # AQuA: "A)21"
    else:
        raise EvalError(f"{where}: choices must be a list or {{text, label}}, not {value!r:.60}")
    if len(texts) < 2 or len(texts) > 26:
        raise EvalError(f"{where}: a multiple-choice task needs 2 to 26 choices, not {len(texts)}")
    return [str(t).strip() for t in texts], labels


def _choice_letter(answer: Any, texts: list[str], labels: list[str] | None, where: str) -> str:
    """The correct choice's letter from a letter, a label, a 0-based index or the text."""
    if isinstance(answer, bool) or answer is None:
        raise EvalError(f"{where}: no answer")
    if isinstance(answer, int):
        index = answer
    else:
        text = str(answer).strip()
        if labels and text in labels:
            index = labels.index(text)
        elif len(text) == 1 and text.isalpha():
            index = ord(text.upper()) - ord("A")
        elif text in texts:
            index = texts.index(text)
        elif text.isdigit():
            index = int(text)
        else:
            raise EvalError(f"{where}: answer {text!r:.40} is no letter, label, index or choice")
    if not 0 <= index < len(texts):
        raise EvalError(f"{where}: answer {answer!r} is not one of the {len(texts)} choices")
    return chr(ord("A") + index)


_CHOICE_FIELDS = ("id", "prompt", "choices", "answer")


def choice_tasks(path: str | Path, mapping: dict[str, str] | None = None) -> list[Task]:
    """Multiple-choice records as ``choice`` tasks (the answer kept as a letter)."""
    mapping = dict(mapping or {})
    _check_mapping(mapping, _CHOICE_FIELDS, "choice")
    tasks = []
    for index, (where, row) in enumerate(_rows(path)):
        q_col, question = _column(
            row, where, "prompt", mapping, ("question", "prompt", "stem", "question_stem")
        )
        c_col, raw_choices = _column(row, where, "choices", mapping, ("choices", "options"))
        a_col, answer = _column(
            row, where, "answer", mapping, ("answer", "answerKey", "correct", "label")
        )
        if not isinstance(question, str) or not question.strip():
            raise EvalError(f"{where}: no question (map one: prompt=COLUMN)")
        if raw_choices is None:
            raise EvalError(f"{where}: no choices (map them: choices=COLUMN)")
        texts, labels = _choices(raw_choices, where)
        used = {q_col, c_col, a_col, mapping.get("id")}
        tasks.append(
            Task(
                id=_task_id(row, mapping.get("id"), path, index),
                prompt=question.strip(),
                family="choice",
                choices=texts,
                answer=_choice_letter(answer, texts, labels, where),
                metadata={k: v for k, v in row.items() if k not in used},
            )
        )
    return _unique(tasks, path)


_QA_FIELDS = ("id", "prompt", "context", "answer", "aliases")


def _answers(value: Any, where: str) -> list[str]:
    if isinstance(value, dict):
        if "text" in value:  # SQuAD
            found = list(value["text"])
        elif "value" in value:  # TriviaQA
            found = [value["value"], *value.get("aliases", [])]
        else:
            raise EvalError(f"{where}: an answer object needs text or value, not {list(value)}")
    elif isinstance(value, list | tuple):
        found = list(value)
    elif value is None:
        found = []
    else:
        found = [value]
    answers = [str(a).strip() for a in found if str(a).strip()]
    if not answers:
        raise EvalError(f"{where}: no reference answer")
    return list(dict.fromkeys(answers))


def qa_tasks(path: str | Path, mapping: dict[str, str] | None = None) -> list[Task]:
    """Short-answer records as ``qa`` tasks: the first answer the reference, the rest aliases."""
    mapping = dict(mapping or {})
    _check_mapping(mapping, _QA_FIELDS, "qa")
    tasks = []
    for index, (where, row) in enumerate(_rows(path)):
        q_col, question = _column(row, where, "prompt", mapping, ("question", "prompt", "query"))
        x_col, context = _column(row, where, "context", mapping, ("context",))
        a_col, answer = _column(row, where, "answer", mapping, ("answer", "answers"))
        l_col, aliases = _column(row, where, "aliases", mapping, ("aliases",))
        if not isinstance(question, str) or not question.strip():
            raise EvalError(f"{where}: no question (map one: prompt=COLUMN)")
        answers = _answers(answer, where) + (_answers(aliases, where) if aliases else [])
        prompt = question.strip()
        if isinstance(context, str) and context.strip():
            prompt = f"{context.strip()}\n\nQuestion: {prompt}"
        used = {q_col, x_col, a_col, l_col, mapping.get("id")}
        tasks.append(
            Task(
                id=_task_id(row, mapping.get("id"), path, index),
                prompt=prompt,
                family="qa",
                answer=answers[0],
                aliases=list(dict.fromkeys(answers[1:])),
                metadata={k: v for k, v in row.items() if k not in used},
            )
        )
    return _unique(tasks, path)


def mbpp_entry_point(test: str) -> str | None:
    """The function an MBPP assert line calls: ``assert f(1) == 2`` -> ``f``.

    >>> mbpp_entry_point("assert remove_Occ('hello','l') == 'heo'")
    'remove_Occ'
    >>> mbpp_entry_point("assert math.isclose(area(2), 12.56, rel_tol=0.01)")
    'area'
    """
    try:
        tree = ast.parse(test.strip())
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        called = node.func if isinstance(node, ast.Call) else None
        if isinstance(called, ast.Name) and not hasattr(builtins, called.id):
            return called.id
    return None


_MBPP_FIELDS = ("id", "prompt", "tests", "setup", "challenge_tests", "code")


def mbpp_tasks(path: str | Path, mapping: dict[str, str] | None = None) -> list[Task]:
    """MBPP-style records as ``mbpp`` tasks graded in the sandbox like HumanEval."""
    mapping = dict(mapping or {})
    _check_mapping(mapping, _MBPP_FIELDS, "mbpp")
    tasks = []
    for index, (where, row) in enumerate(_rows(path)):
        p_col, text = _column(row, where, "prompt", mapping, ("text", "prompt", "description"))
        t_col, tests = _column(row, where, "tests", mapping, ("test_list",))
        s_col, setup = _column(row, where, "setup", mapping, ("test_setup_code", "test_imports"))
        h_col, challenge = _column(row, where, "challenge_tests", mapping, ("challenge_test_list",))
        c_col, code = _column(row, where, "code", mapping, ("code",))
        if not isinstance(text, str) or not text.strip():
            raise EvalError(f"{where}: no description (map one: prompt=COLUMN)")
        if not isinstance(tests, list | tuple) or not tests:
            raise EvalError(f"{where}: no test_list of assert lines")
        tests = [str(t).strip() for t in tests]
        entry = mbpp_entry_point(tests[0])
        if entry is None:
            raise EvalError(f"{where}: cannot tell the function's name from {tests[0]!r:.60}")
        setup_code = "\n".join(setup) if isinstance(setup, list | tuple) else (setup or "")
        hidden = tests + [str(t).strip() for t in (challenge or [])]
        used = {p_col, t_col, s_col, h_col, c_col, mapping.get("id")}
        metadata = {k: v for k, v in row.items() if k not in used}
        if isinstance(code, str) and code.strip():
            metadata["canonical_solution"] = code.replace("\r\n", "\n")
        tasks.append(
            Task(
                id=_task_id(row, mapping.get("id"), path, index),
                prompt=text.strip(),
                family="mbpp",
                entry_point=entry,
                visible_tests=check_from_asserts(tests[:1], entry, setup_code),
                hidden_tests=check_from_asserts(hidden, entry, setup_code),
                metadata=metadata,
            )
        )
    return _unique(tasks, path)
