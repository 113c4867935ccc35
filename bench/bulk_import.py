"""The bulk-import benchmark (issue 12): ``python -m bench.bulk_import`` invites 10,000 parents
from one CSV file, as ``idp parent import`` does, and says where the time goes.

On PostgreSQL + Redis with a real SMTP server on loopback (a sink that counts what it gets), and
on the embedded default (SQLite, outbox folder). For each: the dry run (read + plan), the import
itself (wall seconds, and this process's CPU seconds: the machine is shared, so the wall time
depends on the load average, which is reported too), the time spent handing e-mails over (in
the import's sending thread, overlapped), the SMTP sink's CPU, and the same e-mails sent with one connection per
message (what ``mail.send`` did before ``mail.one_connection``), for comparison. Writes
bench/results/bulk_import.json and .md. Everything it made is removed at the end.
"""

import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiosmtpd.controller import Controller

from bench.environment import Environment
from idp.settings import PROJECT_ROOT


class Sink:
    """An SMTP server that accepts everything and counts it, in a process of its own (as a real
    mail server would be: not competing with the import for this process's interpreter)."""

    def __init__(self, folder: Path):
        self.port, self.count_file = free_port(), folder / "sink-count"
        self.process = subprocess.Popen([sys.executable, "-m", "bench.bulk_import", "--sink",
                                         str(self.port), str(self.count_file)], cwd=PROJECT_ROOT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
                return
            time.sleep(0.1)
        raise RuntimeError("the SMTP sink did not start")

    @property
    def cpu_seconds(self) -> float:
        """CPU the sink process has used (Linux /proc): a real mail server's share of the work."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @property
    def received(self) -> int:
        return int(self.count_file.read_text()) if self.count_file.exists() else 0

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


def serve_sink(port: int, count_file: Path) -> None:
    class Handler:
        received = 0

        async def handle_DATA(self, server, session, envelope):
            Handler.received += 1
            count_file.write_text(str(Handler.received))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    signal.signal(signal.SIGTERM, lambda *_: (controller.stop(), sys.exit(0)))
    signal.pause()


def csv_file(rows: int) -> bytes:
    lines = ["email;name;username;external_id"]
    lines += [f"ouder{n:05d}@bench.invalid;Ouder{n:05d} Van Bench;;EXT{n:05d}" for n in range(rows)]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


@contextlib.contextmanager
def timed_mail(totals: dict):
    """Adds up the seconds spent in ``mail.send`` (rendering excluded: that is the invitation).
    The import sends in a thread of its own while it makes the next batch: these seconds
    overlap with the rest, they are not a part of the import's time."""
    from idp import mail

    original = mail.send

    def send(message):
        started = time.perf_counter()
        try:
            original(message)
        finally:
            totals["mail_seconds"] = totals.get("mail_seconds", 0) + time.perf_counter() - started

    mail.send = send
    try:
        yield
    finally:
        mail.send = original


def measure(settings: dict, rows: int, sink: Sink | None) -> dict:
    from sqlalchemy import func, select

    from idp import clock, create_app, mail
    from idp.accounts import actions, bulk_import
    from idp.cli.db import upgrade
    from idp.extensions import db
    from idp.models import Account, Organisation

    app = create_app(settings)
    result = {"rows": rows}
    data = csv_file(rows)
    with app.app_context():
        upgrade()
        org = Organisation(code="BULK01", name="Bulk", requires_2fa=True, created_at=clock.timestamp())
        db.session.add(org)
        db.session.commit()

        started, cpu = time.perf_counter(), time.process_time()
        parsed, _ = bulk_import.read(data)
        planned = bulk_import.plan(org, parsed)
        result["dry_run_seconds"] = round(time.perf_counter() - started, 2)
        result["dry_run_cpu_seconds"] = round(time.process_time() - cpu, 2)
        assert planned.counts()["invite"] == rows, planned.counts()

        totals = {}
        sink_cpu = sink.cpu_seconds if sink else 0
        started, cpu = time.perf_counter(), time.process_time()
        # The outbox prints every e-mail on stderr, as the embedded default does; not to a terminal.
        with timed_mail(totals), contextlib.redirect_stderr(io.StringIO()):
            outcome = bulk_import.run(org, data, actions.Actor("bench"))
        result["import_seconds"] = round(time.perf_counter() - started, 2)
        # This process (both threads); other helpers' work on the machine does not count here.
        result["import_cpu_seconds"] = round(time.process_time() - cpu, 2)
        result["cpu_ms_per_row"] = round(result["import_cpu_seconds"] * 1000 / rows, 2)
        if sink:
            result["sink_cpu_seconds"] = round(sink.cpu_seconds - sink_cpu, 2)
        result["load_after_import"] = [round(x, 2) for x in os.getloadavg()]
        result["mail_seconds"] = round(totals.get("mail_seconds", 0), 2)
        result["rows_per_second"] = round(rows / result["import_seconds"])
        result["invited"] = outcome.counts()["invite"]
        result["accounts"] = db.session.scalar(select(func.count()).select_from(Account))

        started = time.perf_counter()
        again = bulk_import.run(org, data, actions.Actor("bench"))
        result["rerun_seconds"] = round(time.perf_counter() - started, 2)
        result["rerun_counts"] = again.counts()

        if sink is not None:
            result["smtp_received"] = sink.received
            # The same kind of message, one connection each (before mail.one_connection).
            sample = min(rows, 500)
            message = mail.build("ouder@bench.invalid", "bench", "tekst", "<p>tekst</p>")
            started = time.perf_counter()
            for _ in range(sample):
                mail.send(message)
            per_connection = (time.perf_counter() - started) / sample
            started = time.perf_counter()
            with mail.one_connection():
                for _ in range(sample):
                    mail.send(message)
            shared = (time.perf_counter() - started) / sample
            result["smtp_ms_per_message"] = {"new_connection_each": round(per_connection * 1000, 2),
                                             "one_connection": round(shared * 1000, 2)}
        db.session.remove()
        db.engine.dispose()
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def markdown(results: dict) -> str:
    lines = ["# Bulk import (issue 12)", "",
             f"{results['started']}, load average before {results['load_before']}, "
             f"{results['cpus']} CPUs shared with other work.", "",
             "| backend | rows | dry run (s) | import (s wall) | import (s CPU, this process) | "
             "CPU ms per row | rows/s | sending e-mail, overlapped (s) | SMTP sink CPU (s) | "
             "load after | re-run (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results["backends"].items():
        lines.append(f"| {name} | {r['rows']} | {r['dry_run_seconds']} | {r['import_seconds']} | "
                     f"{r['import_cpu_seconds']} | {r['cpu_ms_per_row']} | {r['rows_per_second']} | "
                     f"{r['mail_seconds']} | {r.get('sink_cpu_seconds', '-')} | "
                     f"{r['load_after_import'][0]} | {r['rerun_seconds']} |")
    for name, r in results["backends"].items():
        if "smtp_ms_per_message" in r:
            ms = r["smtp_ms_per_message"]
            lines += ["", f"SMTP ({name}, loopback): {ms['new_connection_each']} ms per message with "
                      f"a new connection each, {ms['one_connection']} ms over one connection "
                      f"(`mail.one_connection`); the sink received {r['smtp_received']} welcome "
                      "e-mails."]
    lines += ["", "Re-run: the same file again invites nobody "
              f"({json.dumps(next(iter(results['backends'].values()))['rerun_counts'])}).", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--sink"]:
        serve_sink(int(argv[1]), Path(argv[2]))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.bulk_import", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--backend", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    results = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
               "load_before": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
               "backends": {}}
    base = {"IDP_ARGON2_TIME_COST": 2, "IDP_LOG_LEVEL": "WARNING", "IDP_WORKER": "off"}
    if args.backend in ("postgres", "both"):
        with Environment() as env:
            sink = Sink(env.folder)
            try:
                settings = {**base, **env.settings, "IDP_SMTP_URL": f"smtp://127.0.0.1:{sink.port}"}
                print(f"PostgreSQL + Redis + SMTP: {args.rows} rows", flush=True)
                results["backends"]["postgres"] = measure(settings, args.rows, sink)
            finally:
                sink.stop()
    if args.backend in ("sqlite", "both"):
        folder = Path(tempfile.mkdtemp(prefix="idp-bench-bulk-"))
        try:
            from idp.crypto import new_kek

            settings = {**base, "IDP_DATABASE_URL": f"sqlite:///{folder / 'idp.sqlite3'}",
                        "IDP_INSTANCE_DIR": str(folder / "instance"), "IDP_SECRET_KEY": "bench",
                        "IDP_KEY_ENCRYPTION_KEY": new_kek(), "IDP_KEYS_DIR": str(folder / "keys")}
            print(f"SQLite + outbox: {args.rows} rows", flush=True)
            results["backends"]["sqlite"] = measure(settings, args.rows, None)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bulk_import.json").write_text(json.dumps(results, indent=1) + "\n")
    (args.out / "bulk_import.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
