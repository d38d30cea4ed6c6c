"""Invented facts on a local site: the ``browse`` task family.

CRITIC's and ReAct's setting -- answer a question by reading the web -- without the
internet, and without a model that already knows the answer: every entity (a
composer, a chemist, a river, a ship) and every fact about it is made up by a seeded
generator, so a right answer is reachable only by reading its page. The corpus is
shipped (``looplab/data/invented_wiki.jsonl``: one page per line, with the questions
it answers) and served by ``looplab.tools.serve_corpus`` on 127.0.0.1; the ``browse``
tool reaches it as ``http://wiki.invalid/...`` (``.invalid`` is reserved, RFC 2606:
it is no real site).

``python -m looplab.tasks._invented`` writes the corpus again; a test checks the
shipped file is what the generator makes.
"""

from __future__ import annotations

import json
import random
import sys
from typing import Any

from looplab.records import Task
from looplab.tools import SITE_HOST, corpus_pages

__all__ = ["browse_tasks", "make_corpus"]

_SYLLABLES = (
    "bar del fen gor hal ist jor kel lom mar nev ost pel quin rav sel tor ul vor wen "
    "yar zol ard bren cal dor esk fal gri hol"
).split()
_INSTRUMENTS = ("cello", "oboe", "harp", "bassoon", "viola", "lute", "organ", "clarinet")
_SEAS = ("the Velmar Sea", "the Ostrand Gulf", "the Quiller Bay", "the Sea of Harn")


def _name(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts)).capitalize()


def _person(rng: random.Random) -> str:
    return f"{_name(rng, 2)} {_name(rng, 3)}"


def _entity(rng: random.Random, kind: str, others: list[str]) -> dict[str, Any]:
    town, other = _name(rng, 3), rng.choice(others) if others else None
    if kind == "composer":
        name, year, instrument = _person(rng), rng.randint(1701, 1949), rng.choice(_INSTRUMENTS)
        text = (
            f"{name} was a composer born in {year} in the town of {town}. "
            f"{name.split()[0]} played the {instrument} and wrote {rng.randint(3, 40)} "
            f"symphonies, most of them after moving to {_name(rng, 2)}."
        )
        facts = [
            (f"In what year was the composer {name} born?", str(year)),
            (f"In which town was the composer {name} born?", town),
            (f"Which instrument did the composer {name} play?", instrument),
        ]
    elif kind == "chemist":
        name, year, element = _person(rng), rng.randint(1751, 1979), _name(rng, 2) + "ium"
        text = (
            f"{name} was a chemist who discovered the element {element} in {year}, "
            f"while teaching at the university of {town}. The discovery was confirmed "
            f"{rng.randint(2, 15)} years later."
        )
        facts = [
            (f"Which element did the chemist {name} discover?", element),
            (f"In what year did the chemist {name} discover a new element?", str(year)),
            (f"At the university of which town did the chemist {name} teach?", town),
        ]
    elif kind == "river":
        name, length, sea = f"{_name(rng, 2)} River", rng.randint(41, 2999), rng.choice(_SEAS)
        mountain = f"Mount {_name(rng, 2)}"
        text = (
            f"The {name} is {length} kilometres long. It rises on {mountain} and flows "
            f"into {sea}, passing the town of {town} on the way."
        )
        facts = [
            (f"How long, in kilometres, is the {name}?", str(length)),
            (f"On which mountain does the {name} rise?", mountain),
            (f"Which town does the {name} pass?", town),
        ]
    else:  # ship
        name, year, captain = f"the {_name(rng, 3)}", rng.randint(1601, 1899), _person(rng)
        text = (
            f"{name[0].upper()}{name[1:]} was a ship launched in {year} at the port of {town}. "
            f"Her first captain was {captain}, who sailed her for {rng.randint(2, 20)} years."
        )
        facts = [
            (f"In what year was the ship {name.removeprefix('the ')} launched?", str(year)),
            (f"Who was the first captain of the ship {name.removeprefix('the ')}?", captain),
            (f"At which port was the ship {name.removeprefix('the ')} launched?", town),
        ]
    title = name.removeprefix("the ")
    if other:
        text += f" See also: {other}."
    return {"title": title, "text": text, "facts": facts}


def make_corpus(entities: int = 60, seed: int = 1) -> list[dict[str, Any]]:
    """The invented corpus: one page per entity, each with the questions it answers."""
    rng = random.Random(f"invented-wiki:{seed}")
    kinds = ("composer", "chemist", "river", "ship")
    pages: list[dict[str, Any]] = []
    titles: set[str] = set()
    while len(pages) < entities:
        entity = _entity(rng, kinds[len(pages) % len(kinds)], [p["title"] for p in pages])
        if entity["title"] in titles:
            continue
        titles.add(entity["title"])
        slug = entity["title"].replace(" ", "_")
        number = len(pages)
        pages.append(
            {
                "path": f"/wiki/{slug}",
                "title": entity["title"],
                "text": entity["text"],
                "questions": [
                    {"id": f"browse-{number}-{i}", "question": q, "answer": a}
                    for i, (q, a) in enumerate(entity["facts"])
                ],
            }
        )
    return pages


def browse_tasks(n: int = 20, seed: int = 0) -> list[Task]:
    """``n`` questions drawn (seeded) from the corpus, one per page, each naming the page
    that answers it: reading it is the only way to the answer. The first ``n`` of one
    seeded order, so a smaller ``n`` is a prefix of a larger one."""
    pages = list(corpus_pages())
    if not 1 <= n <= len(pages):
        raise ValueError(f"n must be 1 to {len(pages)}, the corpus's pages")
    random.Random(f"browse:{seed}").shuffle(pages)
    tasks = []
    for page in pages[:n]:  # a prefix of one seeded order: n=5 is the first 5 of n=20
        question = random.Random(f"browse:{seed}:{page['path']}").choice(page["questions"])
        url = f"http://{SITE_HOST}{page['path']}"
        tasks.append(
            Task(
                id=question["id"],
                prompt=f"{question['question']}\nThe page {url} has the answer.",
                family="browse",
                answer=question["answer"],
                metadata={"url": url, "seed": seed},
            )
        )
    return tasks


if __name__ == "__main__":
    for page in make_corpus():
        sys.stdout.write(json.dumps(page) + "\n")
