"""Every solution in notebooks/solutions/ passes its checker, and every lesson is wired to both.

The solutions are what `%load solutions/...` shows a learner; running them here means a
change to the library or the model cannot leave a solution that no longer works.
"""

import json
import runpy
from pathlib import Path

import pytest

from incidentlab import check

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOLUTIONS = sorted((NOTEBOOKS / "solutions").glob("*.py"))


def _lesson_sources() -> str:
    text = []
    for nb in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        text += ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    return "\n".join(text)


def _lesson_context(lesson: str, names: tuple[str, ...]) -> dict:
    """Run the lesson's cells that define `names` (e.g. lesson 7's inline `report`); names the
    lesson leaves to the learner (e.g. lesson 5's `defence`) come from the solution itself."""
    namespace: dict = {}
    nb = next(NOTEBOOKS.glob(f"{lesson}-*.ipynb"))
    for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and source.startswith(tuple(f"{n} = " for n in names)):
            exec(source, namespace)
    return {name: namespace[name] for name in names if name in namespace}


def _exercise_of(path: Path) -> check.Exercise:
    lesson, name = path.stem.split("_", 1)
    return check.EXERCISES[f"{lesson}.{name}"]


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_solution_passes_its_checker(path, monkeypatch):
    exercise = _exercise_of(path)
    monkeypatch.chdir(NOTEBOOKS)  # solutions run where the lessons run
    context = _lesson_context(path.stem[:2], exercise.context) if exercise.context else {}
    namespace = runpy.run_path(str(path), init_globals=context, run_name="__solution__")
    assert exercise.answer in namespace, f"{path.name} never sets {exercise.answer}"
    missing = [name for name in exercise.context if name not in namespace]
    assert not missing, f"neither {path.name} nor its lesson defines {missing}"
    context = {name: namespace[name] for name in exercise.context}
    feedback = exercise(namespace[exercise.answer], **context)
    assert feedback.passed is True, str(feedback)
    assert feedback.right, "a right answer should be told what is right about it"


def test_every_exercise_has_a_solution_and_a_lesson_that_uses_it():
    sources = _lesson_sources()
    solutions = {p.name for p in SOLUTIONS}
    for ex in check.EXERCISES.values():
        assert ex.solution in solutions, f"no notebooks/solutions/{ex.solution}"
        assert f"# %load solutions/{ex.solution}" in sources, f"no lesson loads {ex.solution}"
        lesson, name = ex.id.split(".")
        assert f"check.lesson{int(lesson)}.{name}(" in sources, f"no lesson calls {ex.id}"


LESSONS = sorted(NOTEBOOKS.glob("0[1-6]-*.ipynb"))


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem[:2] for p in LESSONS])
def test_lesson_has_the_carpentry_frame_and_a_prediction(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    first, last = "".join(cells[0]["source"]), "".join(cells[-1]["source"])
    assert "**Questions**" in first and "**Objectives" in first
    assert cells[-1]["cell_type"] == "markdown" and last.startswith("## Key points")
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    lesson = int(path.stem[:2])
    asked = [q for q in check.QUESTIONS if q.startswith(f"{lesson:02d}.")]
    assert asked and all(f"check.lesson{lesson}.{q.split('.')[1]}(prediction)" in code
                         for q in asked)
    if lesson in (2, 3, 5):
        assert "steps=[" in code and "Step(" in code, "lessons 2, 3, 5 use the Lab's guided steps"


def test_the_setup_check_is_linked_from_the_readme_and_the_guide():
    root = NOTEBOOKS.parent
    assert (NOTEBOOKS / "00-setup-check.ipynb").exists()
    for doc in ("README.md", "docs/instructor-guide.md"):
        assert "00-setup-check.ipynb" in (root / doc).read_text(encoding="utf-8"), doc
