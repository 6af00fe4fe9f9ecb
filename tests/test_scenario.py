"""Scenario, Action and Scenario.from_events: the schedule of the real day, nothing dropped."""

import datetime as dt

import polars as pl
import pytest

import incidentlab as il
from incidentlab import Action, Params, Scenario, ScenarioError

TZ = "Etc/GMT+7"  # PDT as a fixed UTC-7 zone, as the parser gives it


def events(rows: list[tuple[str, str, str, str]]) -> pl.DataFrame:
    """A hand-made events frame of the docs/architecture.md schema: (HH:MM, source, kind, text)."""
    times = [dt.datetime(2017, 3, 20, int(t[:2]), int(t[3:])) for t, *_ in rows]
    return pl.DataFrame({
        "time": pl.Series(times).dt.replace_time_zone(TZ),
        "end": pl.Series([None] * len(rows), dtype=pl.Datetime("us", TZ)),
        "source": [r[1] for r in rows], "kind": [r[2] for r in rows],
        "services": [[] for _ in rows], "approximate": [False] * len(rows),
        "status": pl.Series([None] * len(rows), dtype=pl.String),
        "text": [r[3] for r in rows], "line": list(range(1, len(rows) + 1)),
    })


HAND = events([
    ("11:38", "narrative", "trigger", "At 11:38 a server for one of the internal services "
     "(presence) disconnected from its other cluster members."),
    ("11:39", "narrative", "detection", "At 11:39 Discord engineers notice a dramatic degradation"),
    ("11:51", "status_update", "communication", "We are currently investigating."),
    ("13:35", "narrative", "mitigation", "By 13:35 rollout of the aforementioned API patches has "
     "completed, and the decision to fully reboot Discord was made."),
    ("13:41", "narrative", "mitigation", "At 13:41 engineers globally disable sending messages."),
    ("13:45", "narrative", "mitigation", "and at 13:45 engineers began the reboot process."),
    ("13:56", "narrative", "recovery", "By 13:56 service has mostly recovered and engineers were "
     "able to enable sending of messages."),
    ("16:04", "narrative", "mitigation", "At 16:04 engineers attempt to reboot and recover the "
     "presence service, however this causes further issues. Engineers yet again globally disable "
     "message sending in an attempt to shed load."),
    ("16:10", "narrative", "diagnosis", "At 16:10 the issue with the presence service is isolated "
     "to the CPU soft locks experienced on the one server. This misbehaving server is rebooted."),
    ("16:23", "narrative", "mitigation", "At 16:23 engineers yet again prepare to fully reboot"),
    ("16:24", "narrative", "mitigation", "and start this process at 16:24."),
    ("16:40", "narrative", "recovery", "By 16:40 service is mostly recovered and message sending "
     "is enabled."),
    ("23:59", "narrative", "followup", "These changes were deployed at 1AM on Tuesday."),
])


def schedule_of(sc: Scenario) -> list[tuple[str, str]]:
    return [(f"{sc.start + dt.timedelta(seconds=a.t_s):%H:%M}", a.kind) for a in sc.actions]


def test_from_events_maps_a_hand_made_frame():
    sc = Scenario.from_events(HAND)
    assert schedule_of(sc) == [
        ("11:38", "lockup"), ("13:35", "set_connect_rate_limit"), ("13:41", "disable_sending"),
        ("13:45", "full_reboot"), ("13:56", "enable_sending"), ("16:04", "restart_presence"),
        ("16:04", "disable_sending"), ("16:10", "reboot_presence_node"),
        ("16:24", "full_reboot"), ("16:40", "enable_sending")]
    assert sc.start == dt.datetime(2017, 3, 20, 11, 30, tzinfo=sc.start.tzinfo)
    assert sc.start.utcoffset() == dt.timedelta(hours=-7)
    assert sc.params.horizon_s == 5.5 * 3600 and sc.params.lockup_count == 0
    assert sc.fault_s == 8 * 60


def test_unmapped_events_are_listed_with_a_reason_never_dropped():
    sc = Scenario.from_events(HAND)
    un = sc.unmapped
    assert un.columns == ["time", "kind", "text", "reason"]
    assert un["reason"].null_count() == 0 and (un["reason"].str.len_chars() > 10).all()
    mapped_rows = {a.note[:5] for a in sc.actions}
    assert len(mapped_rows) + un.height == HAND.height
    reasons = dict(zip(un["kind"], un["reason"], strict=False))
    assert "detection" in reasons["detection"]
    assert "status-page" in reasons["communication"]
    assert "outside the replay window 11:30-17:00" in reasons["followup"]
    assert "preparation" in un.filter(pl.col("text").str.contains("prepare"))["reason"][0]


def test_replay_preset_from_the_parsed_report():
    sc = il.presets["march-2017-replay"]
    assert schedule_of(sc) == [
        ("11:38", "lockup"), ("13:34", "lockup"), ("13:35", "set_connect_rate_limit"),
        ("13:41", "disable_sending"), ("13:45", "full_reboot"), ("13:56", "enable_sending"),
        ("14:52", "lockup"), ("14:58", "ignore_presence"), ("16:04", "restart_presence"),
        ("16:04", "disable_sending"), ("16:10", "reboot_presence_node"), ("16:24", "full_reboot"),
        ("16:40", "enable_sending")]
    ev = il.load_report("discord-2017-03-20")
    un = sc.unmapped
    assert len({a.note for a in sc.actions}) + un.height == ev.height
    assert un.filter(pl.col("kind") == "followup").height == 1  # the 1 AM deployment
    assert un.filter(pl.col("text").str.contains("status page")).height >= 3
    assert "tz" not in str(sc.start.tzinfo) and sc.start.utcoffset() == dt.timedelta(hours=-7)


def test_from_events_rejects_bad_frames():
    with pytest.raises(ScenarioError, match="lacks column"):
        Scenario.from_events(pl.DataFrame({"time": [1]}))
    with pytest.raises(ScenarioError, match="empty"):
        Scenario.from_events(HAND.head(0))


def test_actions_and_scenarios_validate():
    with pytest.raises(ScenarioError, match=r"action kind 'explode'.*accepted: lockup"):
        Action(10, "explode")
    with pytest.raises(ScenarioError, match="t_s=-1"):
        Action(-1, "full_reboot")
    with pytest.raises(ScenarioError, match="value=-5"):
        Action(10, "set_connect_rate_limit", -5)
    with pytest.raises(ScenarioError, match="beyond horizon_s=3600"):
        Scenario(actions=(Action(4000, "full_reboot"),))
    with pytest.raises(ScenarioError, match="no time zone"):
        Scenario(start=dt.datetime(2017, 3, 20, 11, 38))
    sc = Scenario(actions=(Action(600, "full_reboot"), Action(60, "disable_sending")))
    assert [a.t_s for a in sc.actions] == [60, 600]
    assert sc.replace(users=1000).params.users == 1000
    assert sc.schedule()["kind"].to_list() == ["disable_sending", "full_reboot"]


def test_operator_actions_act():
    # march-2017 scaled down 50x (users, presence capacity, memory): the same story, smaller
    base = Params(users=100_000, presence_capacity=1400, node_memory_gb=1.28, horizon_s=1800)
    broken = il.simulate(base)
    # admissions slow enough that new links plus background work fit presence's capacity
    rebooted = il.simulate(Scenario(params=base.replace(connect_rate_limit=300),
                                    actions=(Action(300, "full_reboot"),)))
    assert not broken.outcome.recovered and rebooted.outcome.recovered
    assert rebooted.outcome.first_oom_s is None
    tl = rebooted.timeline
    assert tl.filter(pl.col("t_s") == 300)["users_connected"][0] < 1000  # everyone dropped
    # admissions at 300/s: 95k users back in about 317 s (+ client backoff)
    back = tl.filter((pl.col("t_s") > 300) & (pl.col("users_connected") >= 0.95 * 100_000))
    assert 300 + 300 <= back["t_s"][0] <= 300 + 420
    calm = base.replace(lockup_count=0)
    quiet = il.simulate(Scenario(params=calm, actions=(Action(0, "disable_sending"),
                                                       Action(900, "enable_sending"))))
    assert quiet.outcome.events_produced == pytest.approx(
        (0.3 + 1) / 2 * il.simulate(calm).outcome.events_produced, rel=1e-9)
    cured = il.simulate(Scenario(params=base.replace(lockup_count=5, split_brain_fix=True),
                                 actions=(Action(100, "reboot_presence_node"),)))
    caps = cured.timeline.filter(pl.col("t_s") >= 100)["presence_capacity_ops"]
    assert caps.min() == 3 * base.presence_capacity  # no lockup after the node's reboot
    restarted = il.simulate(Scenario(params=calm, actions=(Action(60, "restart_presence"),)))
    assert restarted.timeline.filter(pl.col("t_s") == 60)["users_stalled"][0] == pytest.approx(
        100_000)  # every link lost at once


def test_answer_key_paraphrases_give_the_same_schedule():
    """The hand-labelled answer key words events differently; the schedule must not change."""
    ours = Scenario.from_events(il.answer_key())
    parsed = il.presets["march-2017-replay"]
    assert [(a.t_s, a.kind, a.value) for a in ours.actions] == [
        (a.t_s, a.kind, a.value) for a in parsed.actions]
    assert ours.unmapped.height == parsed.unmapped.height
