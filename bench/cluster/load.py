"""The load: reps working on both web hosts at once, through the JSON API and the pages (run in the `load` host).

Each virtual user is one rep, with a bearer token for the API and a page session (logged in through the form; its
cookie is sent to whichever host answers, as a browser behind one load-balanced name would).
Hosts are chosen like a load balancer would: round robin over the web hosts, a host whose connection failed
skipped for 10 s (a passive health check); a request that could not connect
goes once to the other host (a retry), and so does a GET whose connection broke after it was sent — a POST that
may have reached the server is not sent twice (as nginx's proxy_next_upstream does for non-idempotent requests).
Writes every request's (kind, host, status, seconds, retried) to a JSON file; the orchestrator summarises it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from urllib3.exceptions import NewConnectionError

CONNECTION_ERRORS = (requests.ConnectionError, requests.Timeout)
# action: weight. A move reads the deal first (its allowed stages and version); completing reads the task list.
ACTIONS = {"board_page": 15, "tasks_page": 10, "tasks_api": 15, "complete_task": 20, "move_stage": 15,
           "book": 10, "my_deals": 10, "notifications": 5}


class Balancer:
    """Round robin over the hosts, with a passive health check as nginx's `max_fails=1 fail_timeout=10s`: a host
    whose connection failed goes to the back of the order for `fail_timeout` seconds (it is still tried when the
    other one fails too)."""

    def __init__(self, hosts: list[str], fail_timeout: float = 10.0, clock=time.monotonic):
        self.hosts, self.fail_timeout, self.clock = hosts, fail_timeout, clock
        self._next = itertools.count()
        self._lock = threading.Lock()
        self._down_until: dict[str, float] = {}

    def order(self) -> list[str]:
        with self._lock:
            first = next(self._next) % len(self.hosts)
            now = self.clock()
            rotated = self.hosts[first:] + self.hosts[:first]
            return sorted(rotated, key=lambda host: self._down_until.get(host, 0.0) > now)  # stable: up first

    def failed(self, host: str) -> None:
        with self._lock:
            self._down_until[host] = self.clock() + self.fail_timeout


class Rep:
    def __init__(self, person: dict, balancer: Balancer, record, reminder_minutes: int, window: float,
                 rng: random.Random):
        self.person, self.balancer, self.record, self.rng = person, balancer, record, rng
        self.reminder_minutes, self.window = reminder_minutes, window
        self.api = {"Authorization": f"Bearer {person['token']}"}
        self.http = requests.Session()
        self.cookies: dict[str, str] = {}  # the page session's cookies, whichever host set them
        self.deals: list[int] = []

    def call(self, kind: str, method: str, path: str, *, page: bool = False, **kw) -> requests.Response | None:
        """One request through the balancer; None when every host refused the connection."""
        headers = {**({} if page else self.api), **kw.pop("headers", {})}
        retried = False
        for host in self.balancer.order():
            started = time.perf_counter()
            try:
                r = self.http.request(method, host + path, headers=headers, timeout=15, allow_redirects=False,
                                      cookies=self.cookies if page else None, **kw)
            except CONNECTION_ERRORS as exc:
                self.balancer.failed(host)
                unsent = _not_connected(exc)
                self.record(kind, host, f"{'no connection' if unsent else 'broken after sending'} "
                            f"({_reason(exc)})", time.perf_counter() - started, retried)
                if unsent or method == "GET":
                    retried = True
                    continue
                return None
            self.record(kind, host, r.status_code, time.perf_counter() - started, retried)
            self.http.cookies.clear()  # cookies go by self.cookies, not bound to the host that set them
            if page:
                self.cookies.update(r.cookies.get_dict())
            return r
        return None

    def login(self) -> None:
        for _ in range(5):
            form = self.call("login_page", "GET", "/login", page=True)
            if form is None:
                continue
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text)
            data = {"email": self.person["email"], "password": self.person["password"]}
            if token:
                data["csrf_token"] = token.group(1)
            r = self.call("login", "POST", "/login", page=True, data=data)
            if r is not None and r.status_code == 302:
                return
        raise RuntimeError(f"{self.person['email']} could not log in")

    # -- the actions ---------------------------------------------------------------------------
    def board_page(self):
        self.call("board_page", "GET", "/pipeline", page=True)

    def tasks_page(self):
        self.call("tasks_page", "GET", "/tasks", page=True)

    def my_deals(self):
        r = self.call("my_deals", "GET", "/api/v1/opportunities?assignee=me&status=in_progress&per_page=100")
        if r is not None and r.status_code == 200:
            self.deals = [d["id"] for d in r.json()["items"]]

    def tasks_api(self) -> list[dict]:
        r = self.call("tasks_api", "GET", "/api/v1/tasks?assignee=me&status=open&per_page=100")
        return r.json()["items"] if r is not None and r.status_code == 200 else []

    def complete_task(self):
        todo = [t for t in self.tasks_api() if not t.get("action") and not t.get("gate")]
        if todo:
            task = self.rng.choice(todo)
            data = {f["name"]: _answer(f) for f in task.get("form_fields") or []}
            self.call("complete_task", "POST", f"/api/v1/tasks/{task['id']}/complete", json={"data": data})

    def move_stage(self):
        if not self.deals:
            self.my_deals()
        if not self.deals:
            return
        opp_id = self.rng.choice(self.deals)
        r = self.call("deal_api", "GET", f"/api/v1/opportunities/{opp_id}")
        if r is None or r.status_code != 200:
            return
        deal = r.json()
        if deal["closed"]:
            self.deals.remove(opp_id)
            return
        allowed = deal.get("allowed_stages") or []
        headers = {"If-Match": str(deal["version"])}
        if allowed:
            self.call("move_stage", "POST", f"/api/v1/opportunities/{opp_id}/stage",
                      json={"stage": self.rng.choice(allowed)}, headers=headers)
        elif deal.get("stage"):  # the last stage: the deal is won
            self.call("win", "POST", f"/api/v1/opportunities/{opp_id}/win", json={}, headers=headers)

    def book(self):
        if not self.deals:
            self.my_deals()
        if not self.deals:
            return
        # the reminder (reminder_minutes before the start) falls due while the load still runs
        start = datetime.now(UTC) + timedelta(minutes=self.reminder_minutes,
                                              seconds=self.rng.uniform(5, max(6.0, self.window * 0.6)))
        self.call("book", "POST", "/api/v1/appointments", json={
            "opportunity_id": self.rng.choice(self.deals), "title": "Site visit",
            "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat(),
            "attendees": [self.person["id"]]})

    def notifications(self):
        self.call("notifications", "GET", "/api/v1/notifications?unread=true")


def _not_connected(exc: Exception) -> bool:
    """The request never reached a server (refused, unreachable, connect timeout): safe to send elsewhere."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def _reason(exc: Exception) -> str:
    """The innermost cause's name (ConnectionRefusedError, RemoteDisconnected, ReadTimeout...), for the report."""
    cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
    cause = getattr(cause, "reason", None) or cause
    while isinstance(cause, Exception) and cause.args and isinstance(cause.args[-1], Exception):
        cause = cause.args[-1]
    return type(cause).__name__


def _answer(field: dict):
    kind = field.get("type")
    if kind == "number":
        return 1
    if kind == "date":
        return datetime.now(UTC).date().isoformat()
    if kind == "choice":
        return (field.get("choices") or ["yes"])[0]
    return "yes"


def run(hosts: list[str], people: list[dict], seconds: float, reminder_minutes: int, seed: int = 11) -> dict:
    balancer = Balancer(hosts)
    samples: list[tuple] = []
    lock = threading.Lock()
    t0 = time.monotonic()

    def record(kind, host, status, took, retried):
        with lock:
            samples.append((kind, host, status, took, retried, time.monotonic() - t0))

    stop = t0 + seconds
    names, weights = list(ACTIONS), list(ACTIONS.values())

    def worker(person: dict, n: int) -> None:
        rng = random.Random(seed + n)  # noqa: S311 - a repeatable mix, not a secret
        rep = Rep(person, balancer, record, reminder_minutes, seconds, rng)
        rep.login()
        rep.my_deals()
        while time.monotonic() < stop:
            getattr(rep, rng.choices(names, weights)[0])()
            time.sleep(rng.uniform(0.05, 0.25))  # a person reads before the next click

    threads = [threading.Thread(target=worker, args=(p, n), daemon=True) for n, p in enumerate(people)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    return {"seconds": time.monotonic() - t0, "samples": samples}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", nargs="+", required=True)
    parser.add_argument("--people", type=Path, required=True)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    prepared = json.loads(args.people.read_text())
    result = run(args.hosts, prepared["people"][:args.users], args.seconds, prepared["reminder_minutes"])
    args.out.write_text(json.dumps(result))
    print(f"load: {len(result['samples'])} requests in {result['seconds']:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
