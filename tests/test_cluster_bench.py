"""bench/cluster's pure parts: the address plan, the command lines, the load's host choice and the report's
numbers — and its database checks (torn states, lost and doubled reminders) run against an ordinary test
database on both backends. The cluster itself (namespaces, gunicorn, kill -9) is too heavy for the suite: it is
run by hand (bench/cluster/run.py) and recorded in bench/RESULTS.md."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import delete, select, update
from urllib3.exceptions import NewConnectionError

from bench.cluster import topology as topo
from bench.cluster.checks import reminder_audit, torn_states
from bench.cluster.load import Balancer, _not_connected
from bench.cluster.run import summarise
from som_flow.extensions import db
from som_flow.models import Notification, Opportunity, Reminder, StageStay
from som_flow.services import opportunities
from som_flow.services.reminders import fire_due_reminders
from tests.helpers import make_customer, make_user


# -- the plan --------------------------------------------------------------------------------------
def test_every_host_has_its_own_private_address_on_one_subnet():
    hosts = topo.plan()
    assert list(hosts) == ["pg", "web1", "web2", "sched1", "sched2", "load"]
    addresses = [ipaddress.ip_address(h.address) for h in hosts.values()]
    assert len(set(addresses)) == 6
    assert all(a in ipaddress.ip_network("10.77.0.0/24") and a.is_private for a in addresses)
    assert hosts["pg"].address == "10.77.0.10"
    # Linux interface names have at most 15 characters; every name is ours (teardown removes only those)
    for host in hosts.values():
        assert len(host.veth_host) <= 15 and len(host.veth_peer) <= 15
        assert host.netns.startswith(topo.PREFIX) and host.veth_host != host.veth_peer


def test_a_public_or_too_small_network_is_refused():
    with pytest.raises(ValueError, match="private"):
        topo.plan("8.8.8.0/24")
    with pytest.raises(ValueError, match="too small"):
        topo.plan("10.77.0.0/29")


def test_setup_builds_and_teardown_removes_every_namespace_and_the_bridge():
    hosts = topo.plan()
    setup = [" ".join(c) for c in topo.setup_commands(hosts)]
    assert setup[0] == f"ip link add {topo.BRIDGE} type bridge"
    for host in hosts.values():
        assert f"ip netns add {host.netns}" in setup
        assert f"ip -n {host.netns} addr add {host.address}/24 dev eth0" in setup
        assert f"ip link set {host.veth_host} master {topo.BRIDGE}" in setup
    # the bridge itself gets no address: the hosts reach each other, not the machine's other networks
    assert not any(c.startswith("ip addr add") and topo.BRIDGE in c for c in setup)
    teardown = [" ".join(c) for c in topo.teardown_commands(hosts)]
    assert teardown == [f"ip netns delete {h.netns}" for h in hosts.values()] + [f"ip link delete {topo.BRIDGE}"]


def test_command_lines_bind_each_server_to_its_own_host_and_share_one_database_and_key():
    hosts = topo.plan()
    web = topo.gunicorn_command(Path("/venv/bin/python"), hosts["web2"], workers=2, threads=4)
    assert web[:3] == ["/venv/bin/python", "-m", "gunicorn"]
    assert "10.77.0.12:8000" in web and web[-1] == "som_flow:create_app()"
    assert web[web.index("--workers") + 1] == "2" and web[web.index("--worker-class") + 1] == "gthread"
    assert topo.scheduler_command(Path("/venv/bin/som-flow"), hosts["sched2"]) == [
        "/venv/bin/som-flow", "scheduler", "--name", "sched2"]
    pg = topo.postgres_command(Path("/pg/bin"), Path("/d"), Path("/s"), hosts["pg"])
    assert "listen_addresses=10.77.0.10" in pg and pg[:4] == ["/usr/sbin/runuser", "-u", "postgres", "--"]
    assert topo.hba_lines().splitlines() == ["local all all trust", "host all all 10.77.0.0/24 trust"]
    assert topo.in_netns(hosts["load"], ["true"]) == ["ip", "netns", "exec", "somc-load", "true"]
    env = topo.process_env({"PATH": "/bin"}, hosts, "s3cret")
    assert env["SOM_FLOW_DATABASE_URL"] == "postgresql://postgres@10.77.0.10:5432/som_flow"
    assert env["SOM_FLOW_SECRET_KEY"] == "s3cret" and env["PATH"] == "/bin"
    assert topo.web_urls(hosts) == ["http://10.77.0.11:8000", "http://10.77.0.12:8000"]


# -- the load and its report ------------------------------------------------------------------------
def test_the_balancer_takes_turns_and_offers_the_other_host_next():
    balancer = Balancer(["http://a", "http://b"])
    assert [balancer.order() for _ in range(3)] == [["http://a", "http://b"], ["http://b", "http://a"],
                                                    ["http://a", "http://b"]]


def test_a_host_that_failed_is_tried_last_until_its_fail_timeout_passes():
    now = [0.0]
    balancer = Balancer(["http://a", "http://b"], fail_timeout=10, clock=lambda: now[0])
    balancer.failed("http://a")
    assert [balancer.order() for _ in range(2)] == [["http://b", "http://a"]] * 2
    now[0] = 10.5
    assert [balancer.order() for _ in range(2)] == [["http://a", "http://b"], ["http://b", "http://a"]]


def test_only_a_request_that_never_connected_counts_as_unsent():
    refused = requests.ConnectionError(type("E", (), {"reason": NewConnectionError(None, "refused")})())
    assert _not_connected(refused)
    assert _not_connected(requests.ConnectTimeout())
    assert not _not_connected(requests.ReadTimeout())
    assert not _not_connected(requests.ConnectionError("Connection aborted: RemoteDisconnected"))


def test_the_summary_counts_answers_latencies_and_connection_errors_per_host():
    samples = [("tasks_api", "http://10.77.0.11:8000", 200, 0.010 * i, False, 1.0) for i in range(1, 101)]
    samples += [("move_stage", "http://10.77.0.11:8000", "no connection (ConnectionError)", 0.001, False, 2.0),
                ("move_stage", "http://10.77.0.12:8000", 200, 0.5, True, 2.0),
                ("move_stage", "http://10.77.0.12:8000", 422, 0.4, False, 3.0),
                ("book", "http://10.77.0.12:8000", 500, 0.3, False, 3.0)]
    summary = summarise({"seconds": 10.0, "samples": samples}, calm_until=1.5)
    tasks = next(r for r in summary["rows"] if r["kind"] == "tasks_api")
    assert (tasks["count"], round(tasks["p50"]), round(tasks["p95"]), round(tasks["p99"])) == (100, 510, 960, 1000)
    assert summary["answered"] == 103 and summary["throughput"] == pytest.approx(10.3)
    assert summary["connection_errors"] == {"10.77.0.11:8000 no connection": 1}
    assert summary["calm_throughput"] == pytest.approx(100 / 1.5) and round(tasks["calm_p95"]) == 960
    assert next(r for r in summary["rows"] if r["kind"] == "move_stage")["calm_p50"] == 0  # none before 1.5 s
    assert summary["retried_ok"] == 1 and summary["server_errors"] == 1 and summary["unexpected_4xx"] == 0


# -- the database checks, on an ordinary test database ----------------------------------------------
def _deals(clock):
    rep = make_user("rep@cluster.test", "rep")
    made = []
    for i, kind in enumerate(("standard-sale", "service-contract", "stageless")):
        made.append(opportunities.create_opportunity(rep, {
            "title": f"Deal {i}", "customer_id": make_customer(f"C{i}").id, "kind": kind, "sales_rep": rep.id,
            "follow_up_date": clock.now().date() + timedelta(days=1)}))
    opportunities.move_to_stage(rep, made[1].id, "proposal")  # the custom kind may skip ahead
    opportunities.win(rep, made[1].id)  # a closed deal: workflow ended won, no open stay
    return rep, made


def test_a_clean_database_has_no_torn_states_and_a_tampered_one_names_the_deal(app, clock):
    rep, (standard, contract, stageless) = _deals(clock)
    for task in opportunities.open_tasks(standard):
        if not task.action and task.role == "rep":
            opportunities.complete_task(rep, task.id, {f: "yes" for f in task.form})
    db.session.commit()
    assert torn_states() == []

    # a stage written without the workflow (what a torn transaction would leave)
    db.session.execute(update(Opportunity).where(Opportunity.id == standard.id).values(stage="negotiation"))
    # an open stay lost
    db.session.execute(delete(StageStay).where(StageStay.opportunity_id == stageless.id, StageStay.left_at.is_(None)))
    db.session.commit()
    torn = {t["opportunity"]: t["problems"] for t in torn_states()}
    number = db.session.get(Opportunity, standard.id).number
    assert any("workflow in lead" in p for p in torn[number])
    assert any("open stays ['lead']" in p for p in torn[number])
    assert list(torn) == [number]  # a stageless deal has no stays to lose; the others agree


def test_reminders_delivered_once_are_neither_lost_nor_doubled_and_a_copy_is_caught(app, clock):
    rep, made = _deals(clock)
    db.session.commit()
    due = db.session.scalars(select(Reminder.due_at).where(Reminder.kind == "follow_up")).all()
    assert due, "the deals' follow-up dates make reminders"
    cutoff = max(due)
    before = reminder_audit(cutoff)
    # due and not delivered yet: lost, were the run over (the won deal's was cancelled when it closed)
    assert before["by_state"] == {"pending": 2, "cancelled": 1} and before["lost"] == 2
    assert fire_due_reminders(at=cutoff) >= 1
    after = reminder_audit(cutoff)
    assert (after["lost"], after["doubled"]) == (0, 0)
    assert after["by_state"].get("delivered") == after["due"] - after["by_state"].get("cancelled", 0)

    note = db.session.scalars(select(Notification).where(Notification.reminder_id.is_not(None))).first()
    db.session.add(Notification(user_id=note.user_id, reminder_id=note.reminder_id, title=note.title,
                                created_at=note.created_at))
    db.session.commit()
    assert reminder_audit(cutoff)["doubled"] == 1
