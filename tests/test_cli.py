"""The `incidentlab` command line: events and metrics in every format; one-line errors, exit 2."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import incidentlab
from incidentlab.cli import build_parser, main

REPORTS = Path(__file__).parent / "reports"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_events_table_fits_100_columns(capsys):
    code, out, err = run(capsys, "events")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "30 events, times in UTC-07:00; ~ marks an approximate time"
    assert max(map(len, lines)) <= 100
    assert lines[3].startswith("2017-03-20 11:38  trigger")
    assert any(line.startswith("2017-03-20 11:50~ impact") for line in lines)  # "By 11:50"


def test_events_json_has_iso_times_with_offsets(capsys):
    code, out, _ = run(capsys, "events", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 30
    assert list(rows[0]) == ["time", "end", "source", "kind", "services", "approximate",
                             "status", "text", "line", "kind_confidence", "kind_reason"]
    assert rows[0]["time"] == "2017-03-20T11:38:00-07:00"
    assert rows[0]["end"] is None
    assert rows[0]["services"] == ["presence", "sessions"]
    assert rows[-1]["status"] == "postmortem"


def test_events_csv_has_the_answer_key_layout(capsys, tmp_path):
    code, out, _ = run(capsys, "events", "--format", "csv")
    assert code == 0
    assert out.splitlines()[0] == ("time,end,source,kind,services,approximate,status,text,line,"
                                   "kind_confidence,kind_reason")
    # the CSV reads back exactly like the hand-labelled key file does
    key_csv = pl.read_csv(Path(incidentlab.__file__).parent.parent / "data"
                          / "discord-2017-03-20.events.csv", infer_schema=False)
    ours = pl.read_csv(io.StringIO(out), infer_schema=False)
    assert ours.drop("text", "kind_confidence", "kind_reason").equals(key_csv.drop("text"))


def test_events_of_a_file_with_date_and_tz(capsys):
    path = str(REPORTS / "undated-timeline.txt")
    code, out, err = run(capsys, "events", path)
    assert code == 2 and out == ""
    assert err.startswith("incidentlab: error: no date found for '14:05' on line 3")
    assert len(err.splitlines()) == 1
    code, out, _ = run(capsys, "events", path, "--date", "2024-05-02", "--tz", "UTC",
                       "--format", "json")
    assert code == 0
    assert [r["time"] for r in json.loads(out)][:2] == ["2024-05-02T14:05:00+00:00",
                                                       "2024-05-02T14:09:00+00:00"]


def test_table_names_an_iana_zone(capsys):
    path = str(REPORTS / "undated-timeline.txt")
    code, out, _ = run(capsys, "events", path, "--date", "2024-05-02", "--tz", "Europe/Berlin")
    assert code == 0
    assert out.splitlines()[0] == ("4 events, times in Europe/Berlin (UTC+02:00 at the first "
                                   "event); ~ marks an approximate time")


def test_a_closed_pipe_is_not_an_error(capsys, monkeypatch):
    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["events", "--format", "json"]) == 0


def test_events_from_stdin(capsys, monkeypatch):
    text = (REPORTS / "cloudflare-2019-07-02.md").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text)))
    code, out, _ = run(capsys, "events", "-", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 9


def test_metrics_table_and_json(capsys):
    code, out, _ = run(capsys, "metrics")
    assert code == 0
    assert "time to first update    13 min" in out
    code, out, _ = run(capsys, "metrics", "--format", "json")
    data = json.loads(out)
    assert (data["minutes_to_detect"], data["minutes_to_first_recovery"],
            data["minutes_to_resolution"], data["recurrences"]) == (1, 138, 316, 2)


@pytest.mark.parametrize(("argv", "message"), [
    (["events", "/no/such/report.txt"], "cannot read '/no/such/report.txt': No such file"),
    (["events", "."], "cannot read '.': Is a directory"),
    (["metrics", str(REPORTS / "ci-builds-midnight.md")], "no trigger event among 5 events"),
    (["events", "--tz", "Mars/Olympus"], "tz='Mars/Olympus' is not a time zone I know"),
    (["events", "--date", "2017-02-30"], "date='2017-02-30' is not a date"),
])
def test_errors_are_one_line_with_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("incidentlab: error: ") and message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_binary_and_empty_files(capsys, tmp_path):
    binary = tmp_path / "report.pdf"
    binary.write_bytes(b"%PDF-1.4\n\x00\x01\x02\xff\xfe binary")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    for path, message in ((binary, "not UTF-8 text"), (empty, "report text is empty")):
        code, _, err = run(capsys, "events", str(path))
        assert code == 2 and message in err and len(err.splitlines()) == 1


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    with pytest.raises(SystemExit) as exit_:
        main(["events", "--format", "xml"])
    assert exit_.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_parser_lists_the_subcommands():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert {"events", "metrics"} <= set(sub.choices)


def test_console_script_in_a_subprocess(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("No times here at all.")
    done = subprocess.run([sys.executable, "-m", "incidentlab.cli", "events", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("incidentlab: error: no times found in the report; an incident report "
                           "needs timed events such as 'At 11:38 ...', '14:18 UTC - ...', "
                           "'9:37AM PST' or 'Posted Mar 20, 2017 - 16:54 PDT'\n")
    done = subprocess.run([sys.executable, "-m", "incidentlab.cli", "metrics", "--format",
                           "json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and json.loads(done.stdout)["minutes_to_detect"] == 1
