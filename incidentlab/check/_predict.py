"""Predict, then run: multiple-choice questions asked before a lesson's key run.

Each wrong option carries what choosing it reveals (its diagnosis); the right option is
computed by a function, from the model where the answer depends on it, so a recalibrated
model moves the right letter instead of leaving a stale one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from incidentlab.check._common import Feedback, _describe
from incidentlab.errors import CheckError

QUESTIONS: dict[str, Question] = {}


@dataclass(frozen=True)
class Question:
    """A prediction: the question, lettered options with their diagnoses, the right letter."""

    id: str
    prompt: str
    options: dict[str, str]
    diagnoses: dict[str, str]  # letter -> what choosing it shows, said to the learner
    right: Callable[[], str] = field(repr=False)  # computes the right letter
    after: str = ""  # what to run or look at once the prediction is in

    def __call__(self, answer: Any) -> Feedback:
        if answer is None or answer is Ellipsis:
            return Feedback(self.id, None, next=(
                f"Predict before you run: {self.prompt}",
                *(f"({letter}) {text}" for letter, text in self.options.items()),
                "Put your letter in `prediction`, e.g. prediction = \"a\", and run this cell.",
            ))
        if not isinstance(answer, str) or answer.strip().strip("()").lower() not in self.options:
            raise CheckError(f"{self.id} expects one letter of {sorted(self.options)}; "
                             f"got {_describe(answer)}.")
        letter = answer.strip().strip("()").lower()
        right = self.right()
        said = f"You predicted ({letter}) {self.options[letter]}"
        if letter == right:
            return Feedback(self.id, True, (said + ": right.", self.diagnoses[letter]),
                            (self.after,) if self.after else ())
        return Feedback(self.id, False, (), (
            said + ".", self.diagnoses[letter],
            "Keep your prediction; run the next cells and see which option the model picks, "
            "and why." + (f" {self.after}" if self.after else ""),
        ))


def question(lesson: int, name: str, prompt: str, options: dict[str, str],
             diagnoses: dict[str, str], after: str = ""):
    """Register the decorated function (it returns the right letter) as a Question."""

    def register(fn: Callable[[], str]) -> Question:
        if set(options) != set(diagnoses):
            raise ValueError(f"{name}: every option needs a diagnosis")
        q = Question(f"{lesson:02d}.{name}", prompt, options, diagnoses, fn, after)
        QUESTIONS[q.id] = q
        return q

    return register
