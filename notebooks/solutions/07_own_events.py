# Lesson 7, exercise 1: parse the report with the date and zone it lacks.
import incidentlab as il

own = il.parse_report(report, date="2024-03-12", tz="Europe/Berlin")
own
