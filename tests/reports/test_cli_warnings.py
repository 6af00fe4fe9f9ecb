"""The CLI prints each parse warning as one line on stderr and goes on."""

from __future__ import annotations

from incidentlab.cli import main


def test_warnings_go_to_stderr_one_line_each(capsys, tmp_path):
    report = tmp_path / "r.txt"
    report.write_text("On 2022-03-03 at 14:00 CST the api crashed. At 25:61 CST it recovered.\n")
    code = main(["events", str(report), "--format", "csv"])
    out, err = capsys.readouterr()
    assert code == 0 and out.startswith("time,")
    lines = err.splitlines()
    assert len(lines) == 2
    assert all(line.startswith("incidentlab: warning: ") for line in lines)
    assert "'CST' on line 1 is ambiguous" in err and "'25:61'" in err


def test_a_clean_report_prints_no_warning(capsys):
    assert main(["events"]) == 0
    assert capsys.readouterr().err == ""
