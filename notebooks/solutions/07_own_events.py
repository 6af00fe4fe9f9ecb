# Lesson 7, exercise 1: parse the report with the date and zone it lacks.
import incidentlab as il

report = il.report_text("checkout-2024-03-12")  # the payments team's report
own = il.parse_report(report, date="2024-03-12", tz="Europe/Berlin")
own
