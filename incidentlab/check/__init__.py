"""Exercise checkers for the lessons: specific, kind feedback instead of pass/fail.

Each lesson has a namespace (`check.lesson1`, ...) with one checker per exercise,
called with the learner's answer: `check.lesson1.time_to_detect(answer)`; and one
prediction question per lesson (`check.lesson2.predict_jitter(prediction)`), asked before
the lesson's key run. A checker
returns a `Feedback` that says what is right and what to look at next. Expected
values are computed from the bundled report and the model every time, so a model
change cannot leave a stale number here. `None` means "not answered yet" (the
lessons run top to bottom before anyone answers); an answer of the wrong type
raises `CheckError` saying what was expected.
"""

from incidentlab.check import lesson1, lesson2, lesson3, lesson4, lesson5, lesson6, lesson7
from incidentlab.check._common import EXERCISES, REPORT, Exercise, Feedback
from incidentlab.check._predict import QUESTIONS, Question
from incidentlab.check.answers import answers_table
from incidentlab.check.lesson1 import mitigations, recurrences, time_to_detect, time_to_first_update
from incidentlab.check.lesson2 import (
    BACKOFF_KNOBS,
    FIRST_WAVE_BASE_S,
    calm_herd,
    first_wave_rate,
    herd_size,
)
from incidentlab.check.lesson3 import (
    KB_PER_GB,
    buffer_limit,
    time_to_oom_by_hand,
    time_to_oom_by_model,
)
from incidentlab.check.lesson3 import _buffer_boundary as _buffer_boundary
from incidentlab.check.lesson3 import _oom_by_hand as _oom_by_hand
from incidentlab.check.lesson4 import (
    ACTION_HINTS,
    PHASE_BASE_S,
    QUEUE_LOOK_AFTER_S,
    queue_after_trigger,
    shed_load,
    tipping_point,
)
from incidentlab.check.lesson4 import _smallest_safe_cap as _smallest_safe_cap
from incidentlab.check.lesson5 import DESIGN_KNOBS, RECOVER_WITHIN_S, design, inflight_limit, waves
from incidentlab.check.lesson6 import (
    REBOOT_BACK_SHARE,
    fixed_day,
    reboot_minutes,
    second_wave_clock,
)
from incidentlab.check.lesson6 import _reboot_minutes as _reboot_minutes
from incidentlab.check.lesson7 import (
    OWN_DATE,
    OWN_KEY,
    OWN_REPORT,
    OWN_TZ,
    REVIEW_BELOW,
    own_events,
    own_review,
    own_time_to_mitigate,
)
from incidentlab.errors import CheckError

# The `_x as _x` imports keep the model's own answers (bisection edges, sums by hand) where the
# tests of the lessons' story read them: `check._oom_by_hand()`.
__all__ = [
    "ACTION_HINTS", "BACKOFF_KNOBS", "DESIGN_KNOBS", "EXERCISES", "FIRST_WAVE_BASE_S", "KB_PER_GB",
    "OWN_DATE", "OWN_KEY", "OWN_REPORT", "OWN_TZ", "PHASE_BASE_S", "QUESTIONS",
    "QUEUE_LOOK_AFTER_S", "REBOOT_BACK_SHARE", "RECOVER_WITHIN_S", "REPORT", "REVIEW_BELOW",
    "CheckError", "Exercise", "Feedback", "Question",
    "answers_table", "buffer_limit", "calm_herd", "design", "first_wave_rate", "fixed_day",
    "herd_size", "inflight_limit", "lesson1", "lesson2", "lesson3", "lesson4", "lesson5", "lesson6",
    "lesson7", "mitigations", "own_events", "own_review", "own_time_to_mitigate",
    "queue_after_trigger", "reboot_minutes", "recurrences", "second_wave_clock", "shed_load",
    "time_to_detect",
    "time_to_first_update", "time_to_oom_by_hand", "time_to_oom_by_model", "tipping_point", "waves",
]
