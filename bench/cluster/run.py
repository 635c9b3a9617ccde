"""Several machines on one PostgreSQL, on one machine: network namespaces, a bridge, and hosts that fail.

Run as root from the repository: sudo .venv/bin/python bench/cluster/run.py [--minutes 2] [--users 20]
(--minutes 0.5 is a smoke run). Builds the topology of bench/cluster/topology.py (pg, web1, web2, sched1,
sched2, load on 10.77.0.0/24), a throwaway PostgreSQL 15 on the pg host, `som-flow init`, the data
(bench/cluster/data.py prepare), gunicorn on both web hosts and `som-flow scheduler` on both scheduler hosts,
then the load (bench/cluster/load.py) for the given minutes. During it one scheduler and one web host's gunicorn
master are killed with SIGKILL and restarted about 10 s later. Then it checks the database (torn states, lost
and doubled reminders) and prints the report as a Markdown table. Everything is torn down on exit — the
processes, the namespaces, the bridge and the data directory — also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.cluster import topology as topo  # noqa: E402

PYTHON = Path(sys.executable)
SOM_FLOW = PYTHON.with_name("som-flow")
PG_BIN = Path("/usr/lib/postgresql/15/bin")
EXPECTED_REFUSALS = (409, 412, 422)  # the process (or a concurrent mover) said no: answers, not failures
SCHEDULER_KILL_AT, WEB_KILL_AT = 0.30, 0.45  # shares of the run


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


class Cluster:
    def __init__(self, work: Path, secret: str):
        self.hosts = topo.plan()
        self.work = work
        self.env = topo.process_env({**os.environ, "PYTHONPATH": str(ROOT)}, self.hosts, secret)
        self.procs: dict[str, subprocess.Popen] = {}
        self.groups: set[int] = set()  # every process group started, so teardown reaches orphaned workers too
        self.built = False

    # -- topology ------------------------------------------------------------------------------
    def build(self) -> None:
        self.teardown_network()  # what a crashed earlier run may have left
        self.built = True
        for cmd in topo.setup_commands(self.hosts):
            subprocess.run(cmd, check=True)  # noqa: S603 - fixed `ip` commands from the plan

    def teardown_network(self) -> None:
        for cmd in topo.teardown_commands(self.hosts):
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603 - fixed `ip` teardown commands from the plan

    # -- processes ------------------------------------------------------------------------------
    def start(self, name: str, host: str, argv: list[str]) -> subprocess.Popen:
        out = open(self.work / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the process's life
        proc = subprocess.Popen(topo.in_netns(self.hosts[host], argv), env=self.env, cwd=ROOT, stdout=out,  # noqa: S603 - argv built by topology.py from fixed parts
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        self.groups.add(proc.pid)
        return proc

    def run_in(self, host: str, argv: list[str], **kw) -> subprocess.CompletedProcess:
        return subprocess.run(topo.in_netns(self.hosts[host], argv), env=self.env, cwd=ROOT, check=True, **kw)  # noqa: S603 - argv built by topology.py from fixed parts

    def kill9(self, name: str) -> None:
        """SIGKILL the process itself (a gunicorn master: its workers are left to notice and exit)."""
        os.kill(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait()

    def stop_all(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pgid in self.groups:
                try:
                    os.killpg(pgid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 5
            for proc in self.procs.values():
                try:
                    proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass

    # -- PostgreSQL ----------------------------------------------------------------------------
    def start_postgres(self) -> None:
        data, sock = self.work / "pgdata", self.work / "pgsock"
        sock.mkdir()
        shutil.chown(self.work, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
        initdb = ["/usr/sbin/runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(data), "-U",
                  "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
        subprocess.run(initdb, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 - fixed arguments
        (data / "pg_hba.conf").write_text(topo.hba_lines())
        self.start("postgres", "pg", topo.postgres_command(PG_BIN, data, sock, self.hosts["pg"]))
        address = self.hosts["pg"].address
        for _ in range(100):
            if subprocess.run(topo.in_netns(self.hosts["load"], [str(PG_BIN / "pg_isready"), "-q", "-h", address,  # noqa: S603 - pg_isready with the plan's address
                                                                 "-p", str(topo.PG_PORT)])).returncode == 0:
                break
            time.sleep(0.2)
        self.run_in("load", [str(PG_BIN / "createdb"), "-h", address, "-U", "postgres", "som_flow"])

    def wait_ready(self, url: str, timeout: float = 60) -> float:
        """Seconds until GET url/readyz answers 200, asked from the load host."""
        script = ("import sys,time,requests\nt=time.monotonic()\n"
                  f"while time.monotonic()-t<{timeout}:\n"
                  f"    try:\n        if requests.get('{url}/readyz',timeout=2).status_code==200: sys.exit(0)\n"
                  "    except requests.RequestException: pass\n    time.sleep(0.2)\nsys.exit(1)\n")
        started = time.monotonic()
        self.run_in("load", [str(PYTHON), "-c", script])
        return time.monotonic() - started


def start_web(cluster: Cluster, name: str) -> None:
    cluster.start(name, name, topo.gunicorn_command(PYTHON, cluster.hosts[name]))


def start_scheduler(cluster: Cluster, name: str) -> None:
    cluster.start(name, name, topo.scheduler_command(SOM_FLOW, cluster.hosts[name]))


def chaos(cluster: Cluster, seconds: float, events: list, stop: threading.Event, timers: list) -> None:
    """Kill -9 sched1 at 30 % of the run and web1's gunicorn master at 45 %; restart each after ~10 s."""
    down = min(10.0, seconds * 0.15)
    plan = [(SCHEDULER_KILL_AT * seconds, "sched1", start_scheduler), (WEB_KILL_AT * seconds, "web1", start_web)]
    t0 = time.monotonic()
    for at, name, restart in plan:
        if stop.wait(max(0.0, t0 + at - time.monotonic())):
            return
        cluster.kill9(name)
        what = "gunicorn master" if name.startswith("web") else "som-flow scheduler"
        events.append((round(time.monotonic() - t0, 1), f"kill -9 {name} ({what})"))
        log(f"killed {name}")
        timer = threading.Timer(down, _restart, args=(cluster, name, restart, events, t0))
        timers.append(timer)
        timer.start()


def _restart(cluster, name, restart, events, t0) -> None:
    restart(cluster, name)
    events.append((round(time.monotonic() - t0, 1), f"restarted {name}"))
    log(f"restarted {name}")
    if name.startswith("web"):
        url = topo.web_urls(cluster.hosts)[("web1", "web2").index(name)]
        cluster.wait_ready(url)
        events.append((round(time.monotonic() - t0, 1), f"{name} ready (/readyz 200)"))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarise(load: dict, calm_until: float = 0.0) -> dict:
    """Per request kind: count, p50/p95/p99, statuses; overall throughput; errors by status and host. The
    baseline from the same run: p50/p95 and throughput of the requests sent in the first `calm_until` seconds
    (before any web host was killed)."""
    kinds: dict[str, list] = defaultdict(list)
    calm: dict[str, list] = defaultdict(list)
    statuses: dict[str, Counter] = defaultdict(Counter)
    conn_errors: Counter = Counter()
    retried_ok = 0
    for kind, host, status, took, retried, at in load["samples"]:
        statuses[kind][str(status)] += 1
        if isinstance(status, int):
            kinds[kind].append(took)
            retried_ok += retried
            if at < calm_until:
                calm[kind].append(took)
        else:
            conn_errors[(host.split("//")[1], status.split(" (")[0])] += 1
    rows = []
    for kind in sorted(statuses):
        took = kinds[kind]
        rows.append({"kind": kind, "count": sum(statuses[kind].values()),
                     "p50": 1000 * percentile(took, 0.50), "p95": 1000 * percentile(took, 0.95),
                     "p99": 1000 * percentile(took, 0.99), "statuses": dict(statuses[kind]),
                     "calm_p50": 1000 * percentile(calm[kind], 0.50), "calm_p95": 1000 * percentile(calm[kind], 0.95)})
    answered = sum(len(v) for v in kinds.values())
    all_status = Counter()
    for c in statuses.values():
        all_status.update(c)
    return {"rows": rows, "answered": answered, "throughput": answered / load["seconds"],
            "calm_throughput": sum(len(v) for v in calm.values()) / calm_until if calm_until else 0.0,
            "calm_until": calm_until,
            "seconds": load["seconds"], "statuses": dict(all_status),
            "connection_errors": {f"{host} {what}": n for (host, what), n in sorted(conn_errors.items())},
            "retried_ok": retried_ok,
            "server_errors": sum(n for s, n in all_status.items() if s.isdigit() and int(s) >= 500),
            "unexpected_4xx": sum(n for s, n in all_status.items()
                                  if s.isdigit() and 400 <= int(s) < 500 and int(s) not in EXPECTED_REFUSALS)}


def _pairs(counts: dict, sep: str = ": ") -> str:
    return ", ".join(f"{k}{sep}{v}" for k, v in sorted(counts.items()))


def report(args, summary: dict, checks: dict, events: list, loads: tuple) -> str:
    lines = [f"Command: `sudo .venv/bin/python bench/cluster/run.py --minutes {args.minutes} --users {args.users}` "
             f"— {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores shared by every host; load average "
             f"{loads[0]:.2f} before, {loads[1]:.2f} after (1 min).",
             "Hosts: pg (PostgreSQL 15, fsync on), web1 + web2 (gunicorn, 2 gthread workers × 4 threads), sched1 + "
             "sched2 (`som-flow scheduler`, tick 2 s, lease 10 s), load (one process, one thread per rep). The load "
             "picks hosts round robin, skips a host for 10 s after its connection failed (a passive health check, "
             "as nginx's fail_timeout), and sends a request that could not connect — or a GET whose connection "
             "broke — once to the other host; a POST that may have arrived is not sent twice.",
             "", f"| request | count | p50 ms | p95 ms | p99 ms | baseline p50 / p95 ms (first "
             f"{summary['calm_until']:.0f} s, both web hosts up) | answers |", "|---|---:|---:|---:|---:|---:|---|"]
    for r in summary["rows"]:
        answers = ", ".join(f"{s}: {n}" for s, n in sorted(r["statuses"].items()))
        lines.append(f"| {r['kind']} | {r['count']} | {r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} | "
                     f"{r['calm_p50']:.0f} / {r['calm_p95']:.0f} | {answers} |")
    rem = checks["reminders"]
    lines += ["", "| what | result |", "|---|---|",
              f"| throughput | {summary['throughput']:.1f} answered requests/s over {summary['seconds']:.0f} s "
              f"({summary['answered']} answered); baseline {summary['calm_throughput']:.1f}/s in the first "
              f"{summary['calm_until']:.0f} s |",
              f"| server errors (5xx) | {summary['server_errors']} |",
              f"| other 4xx (not 409/412/422 refusals) | {summary['unexpected_4xx']} |",
              f"| connection errors (no connection: retried on the other host; broken after sending: a GET "
              f"retried, a POST not) | "
              f"{', '.join(f'{h}: {n}' for h, n in summary['connection_errors'].items()) or '0'}; "
              f"{summary['retried_ok']} retries answered |",
              f"| chaos | {'; '.join(f'{t} s: {what}' for t, what in events)} |",
              f"| torn states (deal vs workflow vs stays vs tasks) | {len(checks['torn'])} of {checks['deals']} "
              "deals |",
              f"| reminders due by the end of the load | {rem['due']} ({_pairs(rem['by_state'], ' ')}) |",
              f"| lost reminders | {rem['lost']} |", f"| doubled reminders | {rem['doubled']} |",
              f"| deliveries by scheduler (the whole run, the drain included) | "
              f"{_pairs(rem['deliveries_by_scheduler'])} |"]
    for t in checks["torn"][:10]:
        lines.append(f"- torn: {t['opportunity']}: {'; '.join(t['problems'])}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--users", type=int, default=20, help="virtual users (reps) working at once")
    parser.add_argument("--deals", type=int, default=300)
    parser.add_argument("--report", type=Path, help="also write the Markdown report here")
    parser.add_argument("--logs", type=Path, help="copy every host's log here before the teardown")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: network namespaces need it (sudo .venv/bin/python bench/cluster/run.py)")
    seconds = args.minutes * 60

    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)
    work = Path(tempfile.mkdtemp(prefix="somc-"))
    os.chmod(work, 0o755)  # noqa: S103 - postgres (another user) reaches its data directory through it
    cluster = Cluster(work, secrets.token_hex(32))
    stop = threading.Event()
    timers: list[threading.Timer] = []
    try:
        log(f"building the topology in {work}")
        cluster.build()
        cluster.start_postgres()
        log("som-flow init")
        cluster.run_in("load", [str(SOM_FLOW), "init"], stdout=subprocess.DEVNULL)
        log(f"preparing {args.deals} deals for {args.users} reps")
        people = work / "people.json"
        cluster.run_in("load", [str(PYTHON), str(ROOT / "bench/cluster/data.py"), "prepare", "--reps",
                                str(args.users), "--deals", str(args.deals), "--booked", str(max(10, int(seconds))),
                                "--window", str(seconds), "--out", str(people)])
        for name in ("web1", "web2"):
            start_web(cluster, name)
        for name in ("sched1", "sched2"):
            start_scheduler(cluster, name)
        for url in topo.web_urls(cluster.hosts):
            cluster.wait_ready(url)
        log(f"load for {seconds:.0f} s against {', '.join(topo.web_urls(cluster.hosts))}")
        loads = [os.getloadavg()[0]]
        events: list = []
        chaos_thread = threading.Thread(target=chaos, args=(cluster, seconds, events, stop, timers),
                                        daemon=True)
        result = work / "load.json"
        chaos_thread.start()
        cluster.run_in("load", [str(PYTHON), str(ROOT / "bench/cluster/load.py"), "--hosts",
                                *topo.web_urls(cluster.hosts), "--people", str(people), "--users", str(args.users),
                                "--seconds", str(seconds), "--out", str(result)])
        stop.set()
        cutoff = datetime.now(UTC)
        loads.append(os.getloadavg()[0])
        drain = int(cluster.env["SOM_FLOW_REMINDER_LEASE_SECONDS"]) + 3 * float(
            cluster.env["SOM_FLOW_SCHEDULER_INTERVAL_SECONDS"]) + 5
        log(f"load done; letting the schedulers drain for {drain:.0f} s, then checking")
        time.sleep(drain)
        checked = cluster.run_in("load", [str(PYTHON), str(ROOT / "bench/cluster/data.py"), "check", "--cutoff",
                                          cutoff.isoformat()], stdout=subprocess.PIPE)
        checks = json.loads(checked.stdout)
        # the baseline: before web1 is killed (at WEB_KILL_AT of the run; the load starts a little after the chaos)
        summary = summarise(json.loads(result.read_text()), calm_until=WEB_KILL_AT * seconds - 2)
        text = report(args, summary, checks, sorted(events), tuple(loads))
        print(text)
        if args.report:
            args.report.write_text(text + "\n")
        return 0 if not checks["torn"] and not checks["reminders"]["lost"] and not checks["reminders"]["doubled"] else 1
    finally:
        stop.set()
        for timer in timers:
            timer.cancel()
        log("tearing down")
        cluster.stop_all()
        if args.logs:
            args.logs.mkdir(parents=True, exist_ok=True)
            for path in [*work.glob("*.log"), *work.glob("*.json")]:
                shutil.copy(path, args.logs / path.name)
        if cluster.built:
            cluster.teardown_network()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
