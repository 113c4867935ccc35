"""`idp demo up`, the README's one command after the install, run for real: in an empty folder it
seeds the embedded default and serves it with the image's server (idp.granian_server, one
worker) on the issuer's port, with the demo relying party, and stops cleanly on SIGTERM.
(tests/test_demo_rp.py walks the demo's journey in-process.)"""

import email
import email.policy
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.processes import free_port, wait_until_serving


def test_demo_up_seeds_and_serves_until_sigterm(tmp_path):
    port, metrics_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("IDP_", "GUNICORN_", "PROMETHEUS_"))}
    # The default issuer's port is 5000, which another program may hold: the same on a free one.
    env.update(HOME=str(tmp_path), IDP_ISSUER=issuer, IDP_METRICS_PORT=str(metrics_port))
    log = tmp_path / "demo.log"  # holds the printed welcome e-mails: not a log to check for secrets
    with open(log, "wb") as out:
        demo = subprocess.Popen([str(Path(sys.executable).parent / "idp"), "demo", "up"],
                                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(f"{issuer}/healthz", demo, log.read_text, seconds=60)
        page = requests.get(f"{issuer}/inloggen", timeout=10)
        assert page.status_code == 200 and "<h1>Inloggen</h1>" in page.text
        assert "PPO Rotterdam" in page.text  # the seeded organisation
        assert requests.get(f"{issuer}/demo/", timeout=10).status_code == 200  # IDP_DEMO_RP
        scrape = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        assert scrape.status_code == 200 and "idp_request_duration_seconds" in scrape.text
        # Its state is in the folder it ran in: the SQLite file, the outbox, the generated kek.
        assert (tmp_path / "instance" / "idp.sqlite3").is_file()
        sent = sorted((tmp_path / "instance" / "outbox").glob("*.eml"))
        assert len(sent) == 2 and (tmp_path / "keys" / "kek").is_file()
        # An activation link opened: its token must not reach the console (no access log).
        message = email.message_from_bytes(sent[-1].read_bytes(), policy=email.policy.default)
        link = re.search(r"adres: (\S+)", message.get_body(("plain",)).get_content()).group(1)
        assert requests.get(link, timeout=10).status_code == 200

        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=30) == 0, log.read_text()
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    printed = log.read_text()
    assert "Starting granian" in printed and f"Listening at: {issuer}" in printed
    assert "Demo relying party (client_id " in printed and f"{issuer}/demo/" in printed
    served = printed.split("Starting granian", 1)[1]  # after the printed e-mails
    assert "GET /activeren/<token>" in served and link.rsplit("/", 1)[1] not in served
