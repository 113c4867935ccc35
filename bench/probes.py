"""What a run reads off the running system besides latencies: the machine, the load on it,
resident memory per gunicorn worker, Redis bytes per sign-in session, and the query plans of the
hot lookups (the scale target: indexes, no scans)."""

import os
import platform
import re
import subprocess
from pathlib import Path

import psycopg

from bench import seed
from idp.oauth import records


def machine() -> dict:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = re.search(r"Model name:\s*(.+)", lscpu)
    versions = {}
    for name, args in {"node": ["node", "--version"], "postgresql": ["psql", "--version"],
                       "redis": ["redis-server", "--version"]}.items():
        try:
            versions[name] = subprocess.run(args, capture_output=True, text=True).stdout.strip()
        except OSError:
            versions[name] = None
    return {
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        **versions,
    }


class CpuMeter:
    """CPU seconds (user + system) used by a process and its children (gunicorn's workers):
    divided by the requests served, the cost of one request on the service's core. Less noisy
    than throughput on a shared machine, since other programs' time is not counted."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, pid: int):
        self.pid = pid

    def _seconds(self, pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / self.TICK  # utime, stime

    def seconds(self) -> float:
        return self._seconds(self.pid) + sum(self._seconds(child) for child in children(self.pid))


def combine_limits(measurements: list[dict]) -> dict:
    """The limits measured at the start and at the end of a run: per operation the median of
    both, with the lowest and highest repeat of either (the machine's noise meanwhile)."""
    combined = dict(measurements[0])
    for name, first in measurements[0].items():
        if isinstance(first, dict) and "per_second" in first:
            values = [m[name] for m in measurements]
            combined[name] = {**first,
                              "per_second": round(sum(v["per_second"] for v in values) / len(values), 1),
                              "min": min(v["min"] for v in values), "max": max(v["max"] for v in values),
                              "measurements": [v["per_second"] for v in values]}
    return combined


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def rss_mib(pid: int, field: str = "VmRSS") -> float | None:
    """Resident memory now (VmRSS), or its peak since the process started (VmHWM)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return round(int(re.search(field + r":\s+(\d+)", status).group(1)) / 1024, 1)


def shared_and_private_mib(pid: int) -> dict:
    """How much of a process's resident memory is its own (private) and its proportional share
    of the pages it shares with others (PSS), from /proc/PID/smaps_rollup. VmRSS counts every
    shared page (e.g. the app gunicorn loaded before forking) in full in each process."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return {}
    kib = {k: int(v) for k, v in re.findall(r"^(\w+):\s+(\d+) kB", text, re.M)}
    private = kib.get("Private_Clean", 0) + kib.get("Private_Dirty", 0)
    return {"private_mib": round(private / 1024, 1), "pss_mib": round(kib.get("Pss", 0) / 1024, 1)}


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def worker_memory(master_pid: int) -> dict:
    workers = children(master_pid)
    sizes = [rss_mib(pid) for pid in workers]
    peaks = [rss_mib(pid, "VmHWM") for pid in workers]
    shares = {pid: shared_and_private_mib(pid) for pid in [master_pid, *workers]}
    return {"master_rss_mib": rss_mib(master_pid), "worker_rss_mib": sizes,
            "worker_peak_rss_mib": peaks,
            "max_worker_rss_mib": max((s for s in peaks if s), default=None),
            "worker_private_mib": [shares[pid].get("private_mib") for pid in workers],
            # What the master and its workers hold together, each shared page counted once.
            "total_pss_mib": round(sum(s.get("pss_mib", 0) for s in shares.values()), 1)}


def redis_per_session(client, prefix: str) -> dict:
    """Bytes a sign-in session holds in Redis: its record, its browser session, and its share of
    the two schedules (expiry, by account)."""
    def usage(pattern, limit=200):
        sizes = []
        for key in client.scan_iter(prefix + pattern, count=1000):
            sizes.append(client.memory_usage(key, samples=0) or 0)
            if len(sizes) >= limit:
                break
        return sizes

    records = usage("signin:*")
    browsers = usage("browser:*")
    sessions = len(list(client.scan_iter(prefix + "signin:*", count=1000)))
    expiry = client.memory_usage(prefix + "signin-expiry", samples=0) or 0
    by_account = sum(usage("signin-account:*", limit=10**9))

    def median(values):
        return sorted(values)[len(values) // 2] if values else 0

    share = (expiry + by_account) / sessions if sessions else 0
    total = median(records) + median(browsers) + share
    return {"sessions": sessions, "signin_record_bytes": median(records),
            "browser_session_bytes": median(browsers), "schedules_bytes_per_session": round(share),
            "total_bytes_per_session": round(total)}


#: The hot lookups, as the service makes them: the token endpoint's own statements, and the same
#: WHERE clauses as idp/ for the rest.
PLANS = {
    "sign-in: account by organisation and username":
        ("SELECT * FROM account WHERE organisation_id = :org AND username = :username", "account"),
    "code exchange: authorization code by hash, with grant and parent":
        (str(records.CODE_BY_HASH), "code"),
    "refresh: refresh token by hash, with grant and parent":
        (str(records.REFRESH_TOKEN_BY_HASH), "refresh"),
    "userinfo/introspection: the access token's grant (gid), with the parent":
        (str(records.GRANT_BY_REFERENCE), "grant"),
    "every token request: client by client_id (cached per worker for IDP_CLIENT_CACHE_TTL)":
        ("SELECT * FROM client WHERE client_id = :client_id", "client"),
}


def _psycopg_style(sql: str) -> str:
    """``:name`` (SQLAlchemy text) to ``%(name)s`` (psycopg)."""
    return re.sub(r"(?<!:):([a-z_]+)", r"%(\1)s", sql)


def query_plans(database_url: str, org_id: int, client_id: str) -> dict:
    plans = {}
    with psycopg.connect(seed.psycopg_url(database_url)) as conn:
        sizes = dict(conn.execute(
            "SELECT relname, n_live_tup FROM pg_stat_user_tables").fetchall())
        for name, (sql, kind) in PLANS.items():
            params = {"account": {"org": org_id, "username": seed.username(1)},
                      "code": {"hash": "0" * 64}, "refresh": {"hash": "0" * 64},
                      "grant": {"reference": "x"}, "client": {"client_id": client_id}}[kind]
            rows = conn.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
                                + _psycopg_style(sql), params).fetchall()
            plans[name] = [row[0] for row in rows]
    return {"table_rows": {k: sizes.get(k) for k in
                           ("account", "authorization_code", "refresh_token", "grant")},
            "plans": plans}
