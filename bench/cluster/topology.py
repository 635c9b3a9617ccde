"""The cluster's plan: which namespaces, which addresses, which command lines (pure: nothing runs here).

One bridge joins the namespaces through veth pairs on a private /24; the root namespace's side of the bridge has
no address, so the hosts reach each other and nothing else (each namespace also has its own loopback).
"""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import dataclass
from pathlib import Path

SUBNET = "10.77.0.0/24"
PREFIX = "somc"  # every namespace, link and bridge name starts with it, so teardown removes only ours
BRIDGE = f"{PREFIX}-br0"
PG_PORT = 5432
WEB_PORT = 8000
ROLES = ("pg", "web1", "web2", "sched1", "sched2", "load")


@dataclass(frozen=True)
class Host:
    name: str  # the role: pg, web1, ...
    address: str  # its address on the bridge

    @property
    def netns(self) -> str:
        return f"{PREFIX}-{self.name}"

    @property
    def veth_host(self) -> str:  # the root namespace's end, on the bridge (interface names: 15 characters)
        return f"{PREFIX}-{self.name}-h"[:15]

    @property
    def veth_peer(self) -> str:  # the end moved into the namespace, renamed eth0 there
        return f"{PREFIX}-{self.name}-p"[:15]


def plan(subnet: str = SUBNET) -> dict[str, Host]:
    """Each role's address: .10, .11, ... in role order (.1–.9 left free)."""
    net = ipaddress.ip_network(subnet)
    if net.prefixlen > 27:
        raise ValueError(f"{subnet} is too small for {len(ROLES)} hosts")
    if not net.is_private:
        raise ValueError(f"{subnet} is not a private network")
    return {role: Host(role, str(net.network_address + 10 + i)) for i, role in enumerate(ROLES)}


def setup_commands(hosts: dict[str, Host], subnet: str = SUBNET) -> list[list[str]]:
    """`ip` commands that build the topology, in order."""
    prefix = ipaddress.ip_network(subnet).prefixlen
    cmds = [["ip", "link", "add", BRIDGE, "type", "bridge"], ["ip", "link", "set", BRIDGE, "up"]]
    for host in hosts.values():
        ns = host.netns
        cmds += [
            ["ip", "netns", "add", ns],
            ["ip", "-n", ns, "link", "set", "lo", "up"],
            ["ip", "link", "add", host.veth_host, "type", "veth", "peer", "name", host.veth_peer],
            ["ip", "link", "set", host.veth_peer, "netns", ns],
            ["ip", "-n", ns, "link", "set", host.veth_peer, "name", "eth0"],
            ["ip", "-n", ns, "addr", "add", f"{host.address}/{prefix}", "dev", "eth0"],
            ["ip", "-n", ns, "link", "set", "eth0", "up"],
            ["ip", "link", "set", host.veth_host, "master", BRIDGE],
            ["ip", "link", "set", host.veth_host, "up"],
        ]
    return cmds


def teardown_commands(hosts: dict[str, Host]) -> list[list[str]]:
    """Deleting a namespace deletes its veth end (and so the pair); then the bridge. Each may fail harmlessly."""
    return [["ip", "netns", "delete", h.netns] for h in hosts.values()] + [["ip", "link", "delete", BRIDGE]]


def in_netns(host: Host, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", host.netns, *argv]


def database_url(hosts: dict[str, Host], database: str = "som_flow") -> str:
    return f"postgresql://postgres@{hosts['pg'].address}:{PG_PORT}/{database}"


def postgres_command(bindir: Path, data: Path, socket_dir: Path, host: Host) -> list[str]:
    """The postgres server itself (in the foreground, as the postgres user), listening on its namespace address.
    Durable settings (fsync, synchronous_commit on): a delivered reminder is a commit, as in production."""
    return ["/usr/sbin/runuser", "-u", "postgres", "--", str(bindir / "postgres"), "-D", str(data), "-p", str(PG_PORT),
            "-k", str(socket_dir), "-c", f"listen_addresses={host.address}", "-c", "max_connections=200",
            "-c", "shared_buffers=128MB"]


def hba_lines(subnet: str = SUBNET) -> str:
    """Who may connect: the local socket, and the cluster's own subnet only (trust: a throwaway cluster)."""
    return ("local all all trust\n"
            f"host all all {ipaddress.ip_network(subnet)} trust\n")


def gunicorn_command(python: Path, host: Host, workers: int = 2, threads: int = 4) -> list[str]:
    """gunicorn with the app factory, gthread workers, bound to the host's own address."""
    return [str(python), "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
            "--worker-class", "gthread", "--bind", f"{host.address}:{WEB_PORT}", "--graceful-timeout", "5",
            # the control socket's default path is one per user, not per host: two hosts on one machine would share it
            "--no-control-socket",
            # above the balancer's idle time (gunicorn's 2 s default is not): otherwise a worker may close an idle
            # kept-alive connection just as the balancer sends the next request on it (seen in run 3: 4 such)
            "--keep-alive", "30",
            "--access-logfile", "-", "som_flow:create_app()"]


def scheduler_command(som_flow: Path, host: Host) -> list[str]:
    return [str(som_flow), "scheduler", "--name", host.name]


def web_urls(hosts: dict[str, Host]) -> list[str]:
    return [f"http://{hosts[name].address}:{WEB_PORT}" for name in ("web1", "web2")]


def process_env(base: dict, hosts: dict[str, Host], secret: str, *, pool: int = 5, overflow: int = 3,
                interval: float = 2.0, lease: int = 10) -> dict:
    """The environment every som_flow process gets: one database, one secret key; a short scheduler interval
    and lease so reminders due in a 2-minute run are delivered (and a killed scheduler's lease runs out) in it."""
    return {**base, "SOM_FLOW_DATABASE_URL": database_url(hosts), "SOM_FLOW_SECRET_KEY": secret,
            "SOM_FLOW_DB_POOL_SIZE": str(pool), "SOM_FLOW_DB_MAX_OVERFLOW": str(overflow),
            "SOM_FLOW_DB_PRE_PING": "1", "SOM_FLOW_SCHEDULER_INTERVAL_SECONDS": str(interval),
            "SOM_FLOW_REMINDER_LEASE_SECONDS": str(lease), "SOM_FLOW_LOG_FORMAT": "json"}


def shell(cmd: list[str]) -> str:
    """A command line as one would type it (for the log)."""
    return shlex.join(cmd)
