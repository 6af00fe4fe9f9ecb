"""Params: defaults, immutability, replace, validation messages, knob parsing, assumptions."""

import dataclasses

import pytest

from incidentlab import ParamError, Params
from incidentlab.model.params import ASSUMPTIONS, KNOBS, parse_knob, parse_value


def test_defaults_are_the_2017_configuration():
    p = Params()
    assert p.users == 5_000_000 and p.presence_nodes == 3
    assert p.inflight_limit is None and not p.fast_fail and not p.split_brain_fix
    assert p.buffer_policy == "unbounded" and p.buffer_limit is None
    assert p.horizon_s == 3600 and p.dt_s == 1


def test_the_issue_knob_names_exist():
    names = ["users", "session_nodes", "presence_nodes", "presence_capacity", "node_memory_gb",
             "session_base_kb", "event_rate", "event_kb", "rpc_timeout_s", "buffer_limit",
             "buffer_policy", "reconnect_base_s", "reconnect_cap_s", "reconnect_jitter",
             "client_reconnect_base_s", "client_reconnect_cap_s", "client_reconnect_jitter",
             "connect_rate_limit", "inflight_limit", "fast_fail", "split_brain_fix",
             "lockup_start_s", "lockup_duration_s", "lockup_interval_s", "lockup_count",
             "horizon_s", "dt_s"]
    assert set(names) <= set(KNOBS)


def test_params_are_immutable_and_replace_returns_a_changed_copy():
    p = Params()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.users = 1  # type: ignore[misc]
    q = p.replace(users=50_000, fast_fail=True)
    assert (q.users, q.fast_fail) == (50_000, True)
    assert (p.users, p.fast_fail) == (5_000_000, False)
    assert q.changed() == {"users": 50_000, "fast_fail": True}


@pytest.mark.parametrize(("knob", "value", "accepted"), [
    ("users", 0, "[1, 1e+09]"),
    ("users", 2.5, "int"),
    ("presence_nodes", 1, "[2, 100]"),
    ("event_rate", -1.0, "[0, 10000]"),
    ("node_memory_gb", float("nan"), "float"),
    ("reconnect_jitter", "random", "none | full | equal | decorrelated"),
    ("buffer_policy", "drop-newest", "unbounded | drop-oldest | disconnect"),
    ("fast_fail", "yes", "true | false"),
    ("inflight_limit", -5, "or None"),
    ("dt_s", 0, "[0.01, 60]"),
])
def test_bad_values_name_knob_value_and_accepted_range(knob, value, accepted):
    with pytest.raises(ParamError) as err:
        Params().replace(**{knob: value})
    msg = str(err.value)
    assert knob in msg and repr(value) in msg and "accepted" in msg and accepted in msg
    assert "\n" not in msg


def test_unknown_knob_is_named():
    with pytest.raises(ParamError, match="unknown knob 'usres'"):
        Params().replace(usres=5)


def test_inconsistent_combinations_are_refused():
    with pytest.raises(ParamError, match="buffer_limit=100 needs buffer_policy"):
        Params(buffer_limit=100)
    with pytest.raises(ParamError, match="buffer_policy='drop-oldest' needs a buffer_limit"):
        Params(buffer_policy="drop-oldest")
    with pytest.raises(ParamError, match=r"reconnect_cap_s=1\.0 is below reconnect_base_s=2\.0"):
        Params(reconnect_base_s=2, reconnect_cap_s=1)
    with pytest.raises(ParamError, match="rpc_timeout_s"):
        Params(rpc_timeout_s=0.5, dt_s=1)
    assert Params(buffer_limit=100, buffer_policy="drop-oldest").buffer_limit == 100


def test_parse_values_by_knob_type():
    assert parse_knob("inflight_limit=none") == ("inflight_limit", None)
    assert parse_knob("inflight_limit=200") == ("inflight_limit", 200)
    assert parse_knob("fast_fail=true") == ("fast_fail", True)
    assert parse_knob("split_brain_fix=False") == ("split_brain_fix", False)
    assert parse_knob("event_rate=2.5") == ("event_rate", 2.5)
    assert parse_knob("users=5_000_000") == ("users", 5_000_000)
    assert parse_knob("reconnect_jitter=full") == ("reconnect_jitter", "full")
    for bad, match in [("users=many", "users='many'"), ("fast_fail=maybe", "fast_fail='maybe'"),
                       ("event_rate=none", "event_rate='none'"), ("nope=1", "unknown knob"),
                       ("users", "not knob=value")]:
        with pytest.raises(ParamError, match=match):
            parse_knob(bad)
    with pytest.raises(ParamError, match="accepted"):
        parse_value("users", "0")


def test_every_knob_is_documented_and_assumptions_are_complete():
    rows = Params.describe()
    assert [r["knob"] for r in rows] == list(KNOBS)
    assert all(r["doc"] and r["accepted"] for r in rows)
    assert len(ASSUMPTIONS) >= 10
    for row in ASSUMPTIONS:
        assert set(row) == {"knob", "value", "reasoning", "source"}
        assert all(row.values())
    stated = " ".join(r["knob"] for r in ASSUMPTIONS)
    for knob in ("users", "session_nodes", "node_memory_gb", "event_rate", "presence_capacity",
                 "connect_rate_limit", "rpc_timeout_s"):
        assert knob in stated


def test_docs_model_page_shows_the_assumptions_table_and_is_linked():
    from pathlib import Path

    from incidentlab.model.params import assumptions_markdown

    root = Path(__file__).resolve().parents[1]
    page = (root / "docs" / "model.md").read_text(encoding="utf-8")
    assert assumptions_markdown() in page
    assert "(docs/model.md)" in (root / "README.md").read_text(encoding="utf-8")
