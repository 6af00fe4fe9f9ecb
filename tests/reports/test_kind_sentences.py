"""Kinds of common postmortem sentences, one clause each (a regression table: these were
written to find missing cues, so they are in-sample for the cue tables)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from incidentlab.reports import classify

SENTENCES_CSV = Path(__file__).parent / "heldout" / "sentences.csv"
SENTENCES = [
 ("A database migration was started on the primary cluster.", "trigger"),
 ("An engineer ran a cleanup job against the wrong environment.", "trigger"),
 ("A certificate expired on the load balancer.", "trigger"),
 ("The on-call engineer acknowledged the page.", "detection"),
 ("Our synthetic checks started failing.", "detection"),
 ("Customers began reporting errors on Twitter.", "detection"),
 ("We escalated to the database team.", "diagnosis"),
 ("The team correlated the errors with the deploy.", "diagnosis"),
 ("We traced the latency to a lock on the users table.", "diagnosis"),
 ("We failed over to the secondary region.", "mitigation"),
 ("We increased the connection pool size.", "mitigation"),
 ("Traffic was shifted away from the affected zone.", "mitigation"),
 ("A hotfix was deployed.", "mitigation"),
 ("We added capacity to the cluster.", "mitigation"),
 ("Error rates returned to baseline.", "recovery"),
 ("All systems were operational.", "recovery"),
 ("The queue was fully drained.", "recovery"),
 ("Latency returned to normal levels.", "recovery"),
 ("We updated the status page.", "communication"),
 ("We sent an email to affected customers.", "communication"),
 ("The incident was resolved.", "recovery"),
 ("Checkout latency increased to 5 seconds.", "impact"),
 ("About 30% of requests failed.", "impact"),
 ("The API was unavailable for EU customers.", "impact"),
 ("We will add an alert on certificate expiry.", "followup"),
 ("A postmortem meeting was held.", "followup"),
 ("Engineers started investigating the spike in 500 errors.", "detection"),
 ("The cache was flushed.", "mitigation"),
 ("Services were brought back online one by one.", "mitigation"),
 ("The fix was verified in production.", "recovery"),
 # a second set, scored 11 of 20 before its cues were added
 ("Memory usage on the web nodes climbed steadily.", "impact"),
 ("PagerDuty called the secondary on-call.", "detection"),
 ("We rolled the bad config back.", "mitigation"),
 ("Root cause: an expired TLS certificate.", "diagnosis"),
 ("A routine network change was applied to the core switches.", "trigger"),
 ("The primary database ran out of disk space.", "impact"),
 ("Engineers began draining traffic from the affected region.", "mitigation"),
 ("Requests began succeeding again.", "recovery"),
 ("We posted an update to our Twitter account.", "communication"),
 ("The team identified a memory leak in the new build.", "diagnosis"),
 ("Response times were back within SLO.", "recovery"),
 ("Customers could not log in.", "impact"),
 ("We opened a support case with our cloud provider.", "mitigation"),
 ("The faulty node was taken out of rotation.", "mitigation"),
 ("All customer data was restored from backups.", "recovery"),
 ("The monitoring system flagged a drop in throughput.", "detection"),
 ("We are adding automated validation for config changes.", "followup"),
 ("The deploy pipeline pushed a broken image to production.", "trigger"),
 ("Login success rate recovered to 99.9%.", "recovery"),
 ("Engineers discovered that the retry storm amplified the load.", "diagnosis"),
 # the first held-out set (heldout/sentences.csv): 10 of 20 until its misses were studied
 # for the clause-reading cues (subject, tense, denial); in-sample since
 *((s, k) for s, k in csv.reader(SENTENCES_CSV.read_text(encoding="utf-8").splitlines()[1:])),
]


@pytest.mark.parametrize(("sentence", "kind"), SENTENCES)
def test_common_sentences(sentence, kind):
    guess = classify.classify(sentence, sentence)
    assert guess is not None and guess.kind == kind, guess
