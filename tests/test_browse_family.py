"""The offline browsing family: invented facts served by a local site the browse tool
reaches through its allow-list, the tasks that need them, and the browsing study."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from looplab.agents import Generator
from looplab.records import Attempt, TaskResult, ToolCall, Trajectory
from looplab.studies import BROWSING, StudyOptions, browse_counts
from looplab.tasks import Grader, browse_tasks, load_tasks, make_corpus
from looplab.tools import SITE_HOST, Browser, corpus_pages, make_tools, serve_corpus
from tests.helpers.scripted import ScriptedModel
from tests.helpers.web_server import WebServer


def test_the_shipped_corpus_is_what_the_generator_makes() -> None:
    shipped = resources.files("looplab").joinpath("data", "invented_wiki.jsonl").read_text()
    assert shipped == "".join(json.dumps(page) + "\n" for page in make_corpus())


def test_every_question_is_answered_on_its_page_and_nowhere_in_the_prompt() -> None:
    pages = {p["path"]: p for p in corpus_pages()}
    tasks = browse_tasks(n=len(pages), seed=3)
    assert len({t.id for t in tasks}) == len(pages)
    for task in tasks:
        page = pages[task.metadata["url"].removeprefix(f"http://{SITE_HOST}")]
        assert task.answer in page["text"]
        assert task.answer not in task.prompt and task.metadata["url"] in task.prompt
    assert [t.id for t in load_tasks("browse:n=5,seed=3")] == [t.id for t in tasks[:5]]
    with pytest.raises(ValueError, match="n must be 1 to 60"):
        browse_tasks(n=61)


def test_the_browse_tool_reads_the_invented_site_and_nothing_else_local() -> None:
    tools = make_tools(["browse"])
    browser = tools["browse"]
    page = browser.run(f"http://{SITE_HOST}/wiki/Dorgri_River")
    assert page.ok and "The Dorgri River is 1800 kilometres long." in page.output
    assert "HTTP 404" in browser.run(f"http://{SITE_HOST}/wiki/Nowhere").error
    other = WebServer()  # another local server: the site's mapping opens no other port
    try:
        refused = browser.run(f"http://127.0.0.1:{other.port}/")
        assert not refused.ok and "loopback" in refused.error
    finally:
        other.close()
    assert not browser.run("http://other.invalid/").ok  # only the mapped name
    assert serve_corpus() == serve_corpus()  # one server per process


def test_a_browser_without_the_site_cannot_reach_it() -> None:
    browser = Browser()
    result = browser.run(f"http://{serve_corpus()}/wiki/Dorgri_River")
    assert not result.ok and "loopback" in result.error


def test_a_scripted_model_browses_and_answers_from_the_page() -> None:
    (task,) = [t for t in browse_tasks(n=60) if t.id.startswith("browse-2-")]  # Dorgri River
    model = ScriptedModel(
        [
            f"I will read it. <browse>{task.metadata['url']}</browse>",
            f" The page says so.\nAnswer: {task.answer}",
        ]
    )
    generation = Generator(model, make_tools(["browse"])).generate(task.prompt)
    (call,) = generation.tool_calls
    assert call.ok and "The Dorgri River is 1800 kilometres long" in call.output
    # the page was spliced back into the text the model continues from
    assert "1800 kilometres" in model.requests[1][0][-1].content
    assert generation.text.endswith(f"Answer: {task.answer}")
    assert Grader().grade(task, task.answer).correct


def _result(task_id: str, answer: str, right: bool, browsed: bool) -> TaskResult:
    calls = [ToolCall(tool="browse", input="http://x", ok=True, output="page")] if browsed else []
    attempt = Attempt(iteration=0, kind="sample", text=f"Answer: {answer}", answer=answer,
                      tool_calls=calls)  # fmt: skip
    trajectory = Trajectory(task_id=task_id, attempts=[attempt], graph="self_consistency")
    return TaskResult(task_id=task_id, trajectory=trajectory, grades=[right],
                      scores=[1.0 if right else 0.0])  # fmt: skip


def test_the_study_counts_browsing_and_what_it_changed() -> None:
    closed = [_result("a", "1700", False, False), _result("b", "Rome", True, False),
              _result("c", "x", False, False)]  # fmt: skip
    browser = [_result("a", "1766", True, True), _result("b", "rome", True, True),
               _result("c", "x", False, False)]  # fmt: skip
    assert browse_counts(browser) == (2, 2, 2, 3)
    tables = BROWSING.summarize({"closed-book": closed, "browser": browser}, StudyOptions())
    arms, paired = tables
    assert arms.rows[1][3].startswith("2/3") and arms.rows[1][4] == "2/2"
    assert arms.rows[1][5].startswith("2/2") and arms.rows[1][6].startswith("0/1")
    # 'rome' and 'Rome' are one answer; only task a changed, wrong -> right
    assert paired.rows[0][3:] == ["1/3", "1", "0"]


@pytest.mark.slow
def test_the_embedded_model_browses_the_invented_site(tmp_path) -> None:
    from looplab.runs import EvalConfig, read_results, run_eval

    config = EvalConfig(tasks="browse:n=3", graph="self_consistency", max_iters=1,
                        tools=["browse"], max_tokens=200)  # fmt: skip
    results = read_results(run_eval(config, tmp_path / "run"))
    assert all(r.error is None for r in results)
    browsed, _, pages, answered = browse_counts(results)
    assert answered == 3 and browsed >= 2 and pages >= 2
    assert all(len(r.scores) == 1 for r in results)
