"""SCIM's libraries (scim2-models, pydantic: ~15 MiB) are loaded on a worker's first SCIM request,
not with the app that gunicorn loads before forking: a worker that never serves SCIM does not
hold them (docs/performance.md: Memory). Checked in a fresh interpreter, since this one has
long imported them."""

import json
import os
import subprocess
import sys

from idp.settings import PROJECT_ROOT
from tests.conftest import KEK

PROGRAM = """
import json, sys
import wsgi

def loaded():
    return sorted(name for name in ("scim2_models", "pydantic") if name in sys.modules)

before = loaded()
client = wsgi.app.test_client()
answer = client.get("/scim/v2/ServiceProviderConfig")
refusal = client.get("/scim/v2/Users")
print(json.dumps({"before": before, "after": loaded(), "status": answer.status_code,
                  "type": answer.mimetype, "refusal": refusal.status_code,
                  "challenge": refusal.headers.get("WWW-Authenticate")}))
"""


def test_scim_libraries_are_loaded_by_the_first_scim_request_only(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("IDP_")}
    env.update(IDP_KEY_ENCRYPTION_KEY=KEK, IDP_SECRET_KEY="memory-test-secret", IDP_WORKER="off",
               IDP_ISSUER="http://127.0.0.1:5000", IDP_INSTANCE_DIR=str(tmp_path / "instance"),
               IDP_KEYS_DIR=str(tmp_path / "keys"))
    run = subprocess.run([sys.executable, "-c", PROGRAM], cwd=PROJECT_ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["before"] == []
    assert (seen["status"], seen["type"]) == (200, "application/scim+json")
    assert seen["after"] == ["pydantic", "scim2_models"]
    assert seen["refusal"] == 401 and seen["challenge"] == 'Bearer realm="scim"'
