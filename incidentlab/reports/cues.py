"""Cue tables: the words that say what kind of event a clause tells, which services it names
and which status an update body reports. Data to read and edit, one line of reasoning each.

Kind cues are regular expressions matched on whole words of the clause as cues see it (lower
case, every run of other characters one space): `notic\\w*` matches notice/noticed/noticing,
never "unnoticed" in the middle of a word. A group's `weight` settles overlaps (the heavier
kind wins: "the status page was updated to say service has recovered" is communication) and
is where the row's `kind_confidence` starts.
"""

from __future__ import annotations

import re
from typing import NamedTuple

KINDS = (
    "trigger", "impact", "detection", "diagnosis",
    "mitigation", "recovery", "communication", "followup",
)
STATUSES = ("investigating", "identified", "monitoring", "resolved", "postmortem")


class CueGroup(NamedTuple):
    kind: str
    weight: float
    why: str  # one line of reasoning, shown in `kind_reason`
    words: tuple[str, ...]


KIND_CUES: tuple[CueGroup, ...] = (
    CueGroup("communication", 0.95, "telling users is communication, whatever it says", (
        r"status ?page", r"status updates?", r"(?:we|our) (?:\w+ ){0,3}(?:tweet\w*|twitter)",
        r"(?:we|they|the company|the team) (?:\w+ )?announc\w*", r"announc\w* (?:to|on|via|that|"
        r"publicly)", r"public announcement",
        r"(?:sent|send|sends) (?:an? )?(?:email|notice|notification|message)s? "
        r"to (?:\w+ ){0,2}(?:customers|users)",
        r"posted (?:an? )?(?:update|notice|message)", r"(?:notif\w*|inform\w*|email\w*) "
        r"(?:all )?(?:users|customers|players|developers)", r"customers were (?:notified|"
        r"informed)", r"health dashboard", r"support team", r"public (?:update|notice)",
        r"incident page", r"(?:we|they) (?:will |ll )?(?:post|publish)\w*", r"posts? publicly",
        r"publicly (?:posts?|posted|says|said|states?|stated|confirm\w*)",
        r"public statement", r"press release", r"social media",
        r"(?:told|tells|tell) (?:our )?(?:customers|users|players)",
        r"we (?:reported|announced|informed|told|said)")),
    CueGroup("followup", 0.9, "work planned for after the incident", (
        r"action items?", r"going forward", r"in the future", r"post ?mortems?",
        r"post incident (?:review|report)", r"incident review", r"long term",
        r"to prevent (?:this|it|such|recurrence|a repeat|similar)", r"remediation\w*",
        r"(?:we|the team) will (?:add|build|change|improve|move|review|introduce|run|hold|"
        r"create|write|automate|audit|document|require|test|practi[cs]e)",
        r"will be (?:written|added|built|created|introduced|improved|reviewed|updated|automated|"
        r"audited|documented|required|tested|rewritten|enforced)",
        r"(?:we are|we re|we ll be) (?:adding|building|changing|improving|introducing)")),
    CueGroup("detection", 0.85, "the moment people noticed: an alert, a page, a report", (
        r"notic\w*", r"detect\w*", r"alerts?", r"alerted", r"alerting", r"alarm\w*",
        r"acknowledg\w*", r"(?:synthetic|health|uptime|canary) checks? (?:\w+ ){0,2}(?:fail\w*|"
        r"fire\w*|alert\w*|turn\w* red)", r"(?:began|begin|begins|started|start) reporting",
        r"flagged", r"(?:called|calls|phoned|woke) (?:the |our )?(?:\w+ )?on ?call",
        r"pages? (?:the|our|an|on|arrives?|fires?|went|goes)", r"paged", r"pager\w*",
        r"became aware", r"sees", r"(?:began|begin|begins|started|starts?) (?:to )?"
        r"investigat\w*", r"investigation (?:began|begins|started|starts)", r"reported by",
        r"(?:user|users|customer|customers|player|players|people|someone) report\w*",
        r"(?:support )?tickets? (?:arrive\w*|came in|come in|opened|were opened)",
        r"first (?:support )?tickets?",
        r"first reports?", r"monitoring (?:showed|shows|detected|flagged)",
        r"incident (?:is|was) (?:declared|opened)", r"declare[sd]? an? (?:\w+ )?incident",
        r"on call (?:engineer )?(?:is|was) paged", r"incident commanders?", r"bridge call",
        r"war room", r"incident (?:channel|bridge)", r"(?:dashboards?|graphs?|grafana|datadog|"
        r"metrics|monitoring) (?:\w+ )?(?:showed|shows|displayed|revealed|indicated)")),
    CueGroup("recovery", 0.8, "service is back: the impact ends", (
        r"recover(?:ed|s|y|ing)", r"(?:begin|began|begins|start\w*) to recover", r"restored",
        r"(?:came|come|comes|coming) back",
        r"incident (?:is|was) (?:closed|over)", r"back to normal", r"back online", r"back up",
        r"back at (?:expected|normal) levels?", r"usable again", r"let back in",
        r"fully operational", r"operating normally", r"(?:healthy|available|working|normal|"
        r"reachable|operational|online|stable) again", r"error rates? (?:returned|dropped|fell|"
        r"returns|drops|falls)", r"caught up", r"restoration (?:is |was )?complete",
        r"completed restoration", r"had been processed", r"backlog (?:is|was) cleared",
        r"resolved", r"(?:could|can|were able to|are able to) \w+ again",
        r"(?:were|are|is|was) (?:fully |all )?operational", r"(?:queue|backlog)s? (?:was |is |were "
        r")?(?:fully )?(?:drained|cleared)", r"returned to (?:normal|baseline|expected)",
        r"back to baseline", r"normal levels", r"back within", r"within (?:slo|sla)",
        r"(?:fix|recovery) (?:was |is )?(?:verified|"
        r"confirmed)",
        r"(?:work|works|working|succeed\w*|load|loads|loading|respond\w*) (?:normally )?again",
        r"(?:flow|process|serv|connect|accept|run|sync|function)\w* (?:normally )?again")),
    CueGroup("diagnosis", 0.75, "finding what is wrong", (
        r"isolated", r"identif\w*", r"root cause", r"traced", r"determined", r"found (?:that|"
        r"the|a)", r"finds?(?: that| the| a)", r"finds", r"pinpoint\w*", r"narrowed",
        r"diagnos\w*", r"confirm\w*",
        r"realiz\w*", r"realis\w*", r"discovered", r"understood", r"suspect\w*",
        r"correlat\w*", r"escalat\w*")),
    CueGroup("trigger", 0.7, "the change or fault that started it", (
        r"soft ?locks?\w*", r"lock ?ups?", r"locked up", r"netsplit", r"split brain",
        r"partition\w*", r"misconfigur\w*", r"accidental\w*", r"by mistake", r"mistakenly",
        r"inadvertent\w*", r"incorrectly", r"(?:more|larger|wider) than intended",
        r"unintended\w*", r"(?:contained|introduced|had) an? (?:\w+ )?bug",
        r"migration (?:was |is )?(?:started|starts|began|begins|kicked off|run)",
        r"change (?:was |is )?(?:applied|made|merged|pushed|deployed|rolled out)",
        r"pushed (?:a |an )?(?:broken|bad|faulty)",
        r"ran an? (?:\w+ ){0,2}(?:job|script|command|query)", r"wrong (?:environment|cluster|"
        r"region|host|database|server)",
        r"deploys an?", r"deployed an? (?:\w+ )?change", r"pushed an?", r"introduced an?",
        r"bad deploy\w*", r"spam", r"ddos", r"power (?:loss|outage|failure)",
        r"loss of connectivity", r"caused (?:the|an|this) (?:outage|incident)",
        r"(?:configuration|config|content|software) (?:update|change) (?:is|was)? ?"
        r"(?:pushed|deployed|rolled out|released|applied)", r"(?:began|begins|starts|started) "
        r"(?:rolling out|to roll out|deploying)", r"maintenance (?:job|command|task)",
        r"(?:remov|delet|terminat|kill|drain|scal|shut|evict|restart|reboot)\w* (?:\w+ ){0,2}"
        r"too (?:many|much|few|aggressively)", r"hijack\w*")),
    CueGroup("mitigation", 0.65, "an action to stop or limit the damage", (
        r"reboot\w*", r"restart\w*", r"disabl\w*", r"re ?enabl\w*", r"enabl\w*", r"patch\w*",
        r"rolled back", r"roll\w* back", r"rollback", r"revert\w*", r"deploy\w*",
        r"rolled out", r"roll out", r"rolling out", r"rollout", r"fail\w* ?over",
        r"(?:scal|add)\w* (?:up|out|capacity)", r"shed\w*", r"throttl\w*", r"rate limit\w*",
        r"block\w*", r"drain\w*", r"rerout\w*", r"mitigat\w*", r"workaround", r"promot\w*",
        r"kill\w*", r"cordon\w*", r"paus\w*", r"restor(?:e|es|ing)", r"redirect\w*",
        r"decision to", r"decided to", r"(?:is|was|were|are) (?:stopped|halted|suspended)",
        r"stop(?:s|ped)? (?:the|all)", r"work on", r"provision\w* (?:new|more|additional|"
        r"extra|capacity|replacement)", r"replac\w*", r"(?:turn|switch|shut)\w* (?:\w+ ){0,3}"
        r"off", r"remov\w* (?:the|a) (?:bad|faulty|offending)", r"(?:brought|bring\w*) "
        r"(?:\w+ ){0,3}(?:back|online)", r"manually", r"moved (?:traffic|\w+ traffic)",
        r"increas\w* (?:the )?(?:\w+ ){0,2}(?:pool|limit|capacity|size|timeout|replicas|memory)",
        r"shift\w* (?:traffic|load)", r"(?:traffic|load) (?:was |is |were )?(?:shifted|moved|"
        r"redirected|drained)", r"flush\w*", r"hot ?fix\w*", r"purg\w*",
        r"roll\w* (?:\w+ ){1,3}back", r"out of rotation", r"(?:opened|open|filed|raised) an? "
        r"(?:support )?(?:case|ticket) with", r"taken (?:out|offline)", r"rebuil\w*",
        r"recreat\w*", r"reinstall\w*", r"reindex\w*", r"resync\w*")),
    CueGroup("recovery", 0.6, "a weak sign of the end: work resumed, users able to act again", (
        r"resumed", r"(?:users|customers|players|clients|people|everyone|developers|merchants|"
        r"services?|systems?|requests|traffic) (?:were|are|was|is) (?:again |now )?able to")),
    CueGroup("trigger", 0.5, "a weak sign of the start: a fault or a surge of load", (
        r"disconnect\w*", r"went down", r"goes down", r"fault", r"deleted", r"trigger\w*",
        r"expired", r"corrupt\w*", r"high load", r"(?:traffic|load|request) (?:surge|spike)s?",
        r"(?:surge|spike) (?:in|of) (?:traffic|load|requests)")),
    CueGroup("followup", 0.48, "a plan in the future tense, when no stronger cue says otherwise", (
        r"will (?:be )?\w+", r"(?:are|is) (?:going|planning) to")),
    CueGroup("impact", 0.45, "harm users or systems felt", (
        r"fail(?:ed|s|ing|ures?)?", r"crash\w*", r"oom", r"out of memory", r"overload\w*",
        r"degrad\w*", r"errors?", r"latency", r"unavailable", r"outages?", r"cascad\w*",
        r"stall\w*", r"down", r"timeouts?", r"timed out", r"slow\w*", r"unable", r"backlog",
        r"queu\w*", r"could not", r"cannot", r"can t", r"couldn t", r"no longer", r"spikes?",
        r"surges?", r"5xx", r"lost",
        r"offline", r"unreachable", r"ran out of", r"delay\w*", r"spiked", r"climb\w*",
        r"(?:rose|rising|increased) (?:steadily|sharply)")),
)

# A cue after one of these words (within three) is denied: "not yet recovered" is no recovery
# (it tells of continuing impact), "no alert fired" no detection.
NEGATIONS = ("not", "no", "never", "yet to", "without", "n t", "failed to", "unable to", "cannot",
             "nor")
NEGATION_RE = re.compile(rf"(?:^| )(?:{'|'.join(NEGATIONS)})(?: \w+){{0,2}} $")

# Narrative actions after the incident ended (last recovery or resolved update) are followups.
AFTER_INCIDENT_CUES = (" deploy", " rolled out", " rollout", " upgrade", " fix", " change",
                       " patch", " added")

# Service vocabulary: name -> cues, matched on the event text (where "direct message(s)" reads
# as "dm", so DMs are not also "messages"); names are listed in order of first mention.
SERVICE_CUES: dict[str, tuple[str, ...]] = {
    "presence": (" presence ",),
    "sessions": (" session ", " sessions "),
    "api": (" api ", " apis "),
    "clients": (" client ", " clients "),
    "dms": (" dm ", " dms "),
    "messages": (" message ", " messages ", " messaging ", " msgs "),
    "status_page": (" status page", " statuspage"),
    "support": (" support ",),
    "database": (" database", " db ", " db1 ", " db2 ", " postgres", " mysql", " replica"),
    "network": (" network", " router", " bgp ", " fiber", " fibre", " optical", " backbone"),
    "gateway": (" gateway",),
    "hypervisor": (" hypervisor", " vm ", " vms ", " virtual machine", " physical host"),
    "cloud": (" google cloud", " gcp ", " aws ", " azure ", " cloud provider"),
    "storage": (" storage ", " s3 ", " disk ", " disks ", " volume ", " volumes "),
    "dns": (" dns ",),
    "cdn": (" cdn ", " edge "),
    "load_balancer": (" load balanc", " loadbalanc"),
    "cache": (" cache", " memcache", " redis "),
    "git": (" git ", " repositor"),
    "web": (" website", " web server", " web app", " web ui", " web front", " frontend"),
    "auth": (" auth ", " authentication", " authorization", " oauth", " login", " log in",
             " sign in"),
    "queue": (" message queue", " job queue", " kafka ", " queue server", " queue service"),
    "backup": (" backup", " snapshot"),
    "webhooks": (" webhook",),
}

# Status inference from an update body, strongest first.
STATUS_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("resolved", re.compile(r"(?:has|have) been resolved|\bis resolved|back to (?:normal|"
                            r"nominal)|nominal operation|operating (?:as )?normal|all systems "
                            r"operational|fully recovered|\bresolved\b(?! by)", re.I)),
    ("monitoring", re.compile(r"\bmonitor(?:ing)?\b|fix has been (?:implemented|deployed)|"
                              r"recovering|seeing (?:improvement|recovery)", re.I)),
    ("identified", re.compile(r"\bidentified\b|\bisolated\b|root cause|\bdue to\b|caused by|"
                              r"work(?:ing)? on (?:a )?fix|implementing|restart|reboot|rolling "
                              r"(?:out|back)", re.I)),
    ("investigating", re.compile(r"investigat|looking into|aware of|experiencing", re.I)),
)
# Status words as status pages write them -> the status (None: an update that names none).
STATUS_WORDS = {
    "resolved": "resolved", "completed": "resolved", "monitoring": "monitoring",
    "identified": "identified", "investigating": "investigating", "postmortem": "postmortem",
    "post-mortem": "postmortem", "update": None, "updated": None, "in progress": None,
    "verifying": None, "scheduled": None,
}
