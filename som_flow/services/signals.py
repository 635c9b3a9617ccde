"""What the services announce after the fact, for whoever listens (the metrics in `web.metrics`).

blinker signals: a service sends, and knows nothing of who (if anyone) receives; sending with no receiver
costs next to nothing.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: the service function's name; `seconds` (the call with its commit), `outcome` ("ok", "refused" for a
# SomFlowError, "error" for anything else)
service_finished = _signals.signal("service-finished")
# sender: the lease owner; `count` reminders delivered (people reminders and process timers)
reminders_delivered = _signals.signal("reminders-delivered")
# sender: the lease owner; `reminder_id`, whose delivery raised (it is retried, then dead)
reminder_failed = _signals.signal("reminder-failed")
# sender: the lease owner (None: host:pid); `seconds` the tick took, `outcome` "ok" or "failed"
scheduler_ticked = _signals.signal("scheduler-ticked")
