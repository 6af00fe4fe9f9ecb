"""The one place that turns numbers into the words learners read: cards, sentences, checkers,
charts and the CLI all call these, so the same loss never reads "2.3 billion" in one place and
"2.26 billion" in another.
"""

from __future__ import annotations

import math

_WORDS = ((1e9, "billion"), (1e6, "million"), (1e3, "thousand"))
_SHORT = ((1e9, "B"), (1e6, "M"), (1e3, "k"))


def count(x: float) -> str:
    """A count in words with three significant figures: '2.26 billion', '41.3 million', '950'."""
    return _scaled(x, _WORDS, " ", "unbounded")


def count_short(x: float) -> str:
    """A count for tight spaces (axes, slider readouts): '2.26B', '41.3M', '5k', '950'."""
    return _scaled(x, _SHORT, "", "∞")


def _scaled(x: float, units: tuple, sep: str, infinite: str) -> str:
    if not math.isfinite(x):
        return infinite if x > 0 else str(x)
    for size, unit in units:
        if abs(x) >= size:
            return f"{_sig3(x / size)}{sep}{unit}"
    return f"{x:,.0f}"


def number(x: float) -> str:
    """A plain quantity: thousands separators from 100 up, three significant figures below."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def minutes(seconds: float | None, never: str = "never") -> str:
    """Seconds as minutes with one decimal: '12.0 min'; None reads `never`."""
    return never if seconds is None else f"{seconds / 60:.1f} min"


def ratio(x: float) -> str:
    """A load ratio: '2.48×'."""
    return f"{x:.2f}×"


def percent(x: float) -> str:
    """A share in [0, 1] as a whole percent: '33%'."""
    return f"{x:.0%}"


def quantity(x: float, unit: str) -> str:
    """'1 minute', '13 minutes', '2.5 seconds'."""
    text = number(x)
    return f"{text} {unit if text == '1' else unit + 's'}"


def vega_count(field: str) -> str:
    """The Vega expression that writes `field` as `count` does (charts run it in the browser)."""
    expr = f"format({field}, ',.0f')"
    for size, word in reversed(_WORDS):
        scaled = f"format({field} / {size:.0f}, '.3~r') + ' {word}'"
        expr = f"({field} >= {size:.0f} ? {scaled} : {expr})"
    return expr


def _sig3(x: float) -> str:
    """Three significant figures, trailing zeros kept short: 2.26, 41.3, 950, 5."""
    text = f"{x:.3g}"
    if "e" in text:  # 1000 billion and up
        return f"{x:,.0f}"
    return text
