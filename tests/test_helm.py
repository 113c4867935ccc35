"""The Helm chart (helm/idp), rendered by real Helm: helm-python-sdk binds Helm's own Go library,
offline, without a helm binary. Every manifest must be valid against the Kubernetes schema of
the oldest release the chart supports, and carry what production relies on: probes, locked-down
pods, the migration hook, the worker and key rotation, secrets only by reference, the
NetworkPolicy, and HA settings in values-production.yaml.
"""

import re

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from idp.settings import PROJECT_ROOT

CHART = PROJECT_ROOT / "helm" / "idp"
KUBE_VERSION = "1.30.0"  # Chart.yaml's kubeVersion floor
ISSUER = "https://ouderportaal.example.org"
SECRET_SETTINGS = {"IDP_SECRET_KEY", "IDP_KEY_ENCRYPTION_KEY", "IDP_DATABASE_URL",
                   "IDP_REDIS_URL", "IDP_SMTP_URL"}
VALUES = {
    # The chart's defaults plus the one value without a default (the install refuses to guess).
    "default": {"config": {"IDP_ISSUER": ISSUER}},
    "production": yaml.safe_load((CHART / "values-production.yaml").read_text()),
}

helm.disable_logging()  # Go's log lines of `required` during lint; failures raise anyway


def rendered_files(values: dict, **options) -> dict[str, str]:
    with helm.Chart.load(CHART) as chart:
        return chart.render(values=values, name="ouderportaal", namespace="ouderportaal",
                            is_install=True, **options)


def render(values: dict, **options) -> list[dict]:
    return [doc for path, text in sorted(rendered_files(values, **options).items())
            if path.endswith(".yaml") for doc in yaml.safe_load_all(text) if doc]


@pytest.fixture(scope="module", params=sorted(VALUES))
def release(request):
    """(name of the values, rendered manifests) for the default and the production values."""
    return request.param, render(VALUES[request.param])


def of_kind(manifests, kind, component=None) -> list[dict]:
    return [m for m in manifests if m["kind"] == kind and (
        component is None or m["metadata"]["labels"].get("app.kubernetes.io/component") == component)]


def one(manifests, kind, component=None) -> dict:
    found = of_kind(manifests, kind, component)
    assert len(found) == 1, f"expected one {kind} {component or ''}, got {len(found)}"
    return found[0]


def pod_specs(manifests) -> dict[str, dict]:
    """Every pod template of the release, by the object's name."""
    specs = {}
    for m in manifests:
        if m["kind"] in ("Deployment", "Job"):
            specs[m["metadata"]["name"]] = m["spec"]["template"]["spec"]
        elif m["kind"] == "CronJob":
            specs[m["metadata"]["name"]] = m["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return specs


def container(manifests, kind, component) -> dict:
    (spec,) = pod_specs([one(manifests, kind, component)]).values()
    (only,) = spec["containers"]
    return only


# --- validity --------------------------------------------------------------------------------
def test_every_manifest_is_valid_kubernetes(release):
    _, manifests = release
    kinds = {m["kind"] for m in manifests}
    assert kinds >= {"ConfigMap", "Deployment", "Service", "Ingress", "Job", "CronJob",
                     "PodDisruptionBudget", "NetworkPolicy", "ServiceAccount"}
    for manifest in manifests:
        if manifest["kind"] in ("ServiceMonitor", "PodMonitor"):  # CRDs: not in the schema
            assert manifest["apiVersion"] == "monitoring.coreos.com/v1"
            endpoints = manifest["spec"]["endpoints" if manifest["kind"] == "ServiceMonitor"
                                         else "podMetricsEndpoints"]
            assert endpoints == [
                {"port": "metrics", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}]
            continue
        # strict: an unknown (misspelt) field is an error, as `kubectl apply` would warn.
        kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)


@pytest.mark.parametrize("name", sorted(VALUES))
def test_helm_lint_passes(name):
    report = helm.lint(CHART, VALUES[name], strict=True, kube_version=f"v{KUBE_VERSION}")
    assert report["errors"] == []
    # Severity 1 is information ("icon is recommended"); warnings and errors fail.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


# --- the web service -------------------------------------------------------------------------
def test_web_probes_and_ports(release):
    _, manifests = release
    web = container(manifests, "Deployment", "web")
    assert {p["name"]: p["containerPort"] for p in web["ports"]} == {"http": 8000, "metrics": 9100}
    assert web["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert web["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert web["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert "args" not in web and "command" not in web  # the image's: python3 -m idp.granian_server
    service = one(manifests, "Service")
    assert {p["name"]: (p["port"], p["targetPort"]) for p in service["spec"]["ports"]} == {
        "http": (8000, "http"), "metrics": (9100, "metrics")}
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "web"


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_web_server_picks_the_command_and_both_read_web_http(server):
    """granian is the image's command; gunicorn the fallback, with the config the image keeps.
    web.http reaches either as the GUNICORN_* variables idp/serving.py reads."""
    manifests = render({"config": {"IDP_ISSUER": ISSUER}, "web": {"server": server, "http": {
        "workers": 3, "threads": 4, "timeout": 50, "gracefulTimeout": 20, "keepalive": 7}}})
    web = container(manifests, "Deployment", "web")
    assert "command" not in web  # the image's entrypoint prepares /tmp/prometheus either way
    if server == "granian":
        assert "args" not in web
    else:
        assert web["args"] == ["gunicorn", "-c", "/app/gunicorn.conf.py", "idp.wsgi:app"]
    env = {e["name"]: e.get("value") for e in web["env"] if e["name"].startswith("GUNICORN_")}
    expected = {"GUNICORN_WORKERS": "3", "GUNICORN_THREADS": "4", "GUNICORN_GRACEFUL_TIMEOUT": "20",
                "GUNICORN_KEEPALIVE": "7"}
    if server == "gunicorn":  # granian has no worker timeout (the statement timeout instead)
        expected["GUNICORN_TIMEOUT"] = "50"
    assert env == expected
    notes = render_notes({"config": {"IDP_ISSUER": ISSUER}, "web": {"server": server}})
    assert f"The web pods serve with {server}" in notes


def render_notes(values: dict) -> str:
    return next(text for path, text in rendered_files(values).items()
                if path.endswith("NOTES.txt"))


def test_shutdown_drains_before_the_grace_period_ends(release):
    _, manifests = release
    pod = pod_specs([one(manifests, "Deployment", "web")]).popitem()[1]
    web = pod["containers"][0]
    sleep = int(web["lifecycle"]["preStop"]["exec"]["command"][1])
    env = {e["name"]: e.get("value") for e in web["env"]}
    assert sleep > 0
    assert pod["terminationGracePeriodSeconds"] > sleep + int(env["GUNICORN_GRACEFUL_TIMEOUT"])


def test_web_memory_limit_holds_every_worker_at_its_peak(release):
    """2 threads per worker (docs/performance.md: Memory): a worker peaks at ~150 MiB resident, and the master,
    which holds the app loaded before the fork, at ~100 MiB."""
    _, manifests = release
    web = container(manifests, "Deployment", "web")
    env = {e["name"]: e.get("value") for e in web["env"]}
    assert env["GUNICORN_THREADS"] == "2"
    limit = web["resources"]["limits"]["memory"]
    assert limit.endswith("Mi") and int(limit[:-2]) >= int(env["GUNICORN_WORKERS"]) * 150 + 100


def test_ingress_serves_the_issuer_host_with_tls(release):
    name, manifests = release
    ingress = one(manifests, "Ingress")["spec"]
    host = VALUES[name]["config"]["IDP_ISSUER"].removeprefix("https://")
    assert [rule["host"] for rule in ingress["rules"]] == [host]
    assert ingress["tls"][0]["hosts"] == [host] and ingress["tls"][0]["secretName"]
    backend = ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["port"] == {"name": "http"}  # never the metrics port


# --- every pod locked down -------------------------------------------------------------------
def test_every_pod_is_non_root_with_a_read_only_root_file_system(release):
    _, manifests = release
    specs = pod_specs(manifests)
    assert len(specs) == 4  # web, worker, migration Job, key-rotation CronJob
    for name, spec in specs.items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == 10001, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), name
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert set(volumes) == {"tmp"} and "emptyDir" in volumes["tmp"], name
        for c in spec["containers"]:
            context = c["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["runAsNonRoot"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["privileged"] is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert c["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}], name


def test_service_account_has_no_token(release):
    _, manifests = release
    assert one(manifests, "ServiceAccount")["automountServiceAccountToken"] is False
    assert not of_kind(manifests, "Role") and not of_kind(manifests, "RoleBinding")


# --- jobs and the worker -----------------------------------------------------------------------
def test_migration_is_a_pre_install_and_pre_upgrade_hook(release):
    _, manifests = release
    job = one(manifests, "Job", "migrate")
    annotations = job["metadata"]["annotations"]
    assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    spec = job["spec"]["template"]["spec"]
    assert spec["containers"][0]["args"] == ["idp", "db", "upgrade"]
    assert spec["restartPolicy"] == "Never"
    # A hook runs before the release's ConfigMap and ServiceAccount exist: it may use neither.
    assert "envFrom" not in spec["containers"][0] and "serviceAccountName" not in spec
    env = {e["name"]: e for e in spec["containers"][0]["env"]}
    assert env["IDP_ISSUER"]["value"].startswith("https://")


def test_key_rotation_is_a_daily_cronjob(release):
    _, manifests = release
    cronjob = one(manifests, "CronJob", "rotate-keys")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert len(cronjob["spec"]["schedule"].split()) == 5 and cronjob["spec"]["schedule"].endswith("* * *")
    args = container(manifests, "CronJob", "rotate-keys")["args"]
    assert args == ["idp", "keys", "rotate", "--if-older-than", "90d"]


def test_worker_is_a_deployment_running_idp_worker(release):
    _, manifests = release
    worker = one(manifests, "Deployment", "worker")
    assert worker["spec"]["replicas"] == 2
    assert container(manifests, "Deployment", "worker")["args"] == ["idp", "worker"]
    assert container(manifests, "Deployment", "worker")["ports"] == [
        {"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]  # its own counters
    # The web pods leave that work to it.
    assert one(manifests, "ConfigMap")["data"]["IDP_WORKER"] == "off"


def test_client_ips_come_from_the_ingress_and_logs_are_json(release):
    _, manifests = release
    data = one(manifests, "ConfigMap")["data"]
    assert (data["IDP_PROXY_HOPS"], data["IDP_LOG_FORMAT"]) == ("1", "json")


# --- secrets ---------------------------------------------------------------------------------
def test_secrets_are_only_referenced(release):
    _, manifests = release
    assert not of_kind(manifests, "Secret")
    assert not SECRET_SETTINGS & set(one(manifests, "ConfigMap")["data"])
    for name, spec in pod_specs(manifests).items():
        for c in spec["containers"]:
            env = {e["name"]: e for e in c["env"]}
            for setting in SECRET_SETTINGS:
                assert "value" not in env[setting], (name, setting)
                assert env[setting]["valueFrom"]["secretKeyRef"] == {
                    "name": "ouderportaal", "key": setting}, (name, setting)


# A URL with a password, a PEM block, or a long random-looking token: none may be rendered.
SECRET_LOOKING = re.compile(r"://[^/\s:@\"]*:[^/\s@\"]+@|-----BEGIN|\b[A-Za-z0-9_+/-]{40,}={0,2}")


def test_no_secret_value_in_the_rendered_output(release):
    _, manifests = release
    text = yaml.safe_dump_all(manifests)
    # The only long tokens rendered are the config checksums (sha256 hex).
    assert [m for m in SECRET_LOOKING.findall(text) if not re.fullmatch(r"[0-9a-f]{64}", m)] == []


REFUSED = [
    ("no-issuer", {"config": {"IDP_ISSUER": ""}}, "IDP_ISSUER is required"),
    ("http-issuer", {"config": {"IDP_ISSUER": "http://idp.example.org"}}, "must be an https URL"),
    ("secret-in-config", {"config": {"IDP_ISSUER": ISSUER, "IDP_SECRET_KEY": "s3cr3t-value"}},
     "is a secret setting"),
    ("database-url-in-config", {"config": {
        "IDP_ISSUER": ISSUER, "IDP_DATABASE_URL": "postgresql+psycopg://u:pw@db/idp"}},
     "is a secret setting"),
    ("secret-in-config-after-dropping-its-reference", {"config": {
        "IDP_ISSUER": ISSUER, "IDP_SMTP_URL": "smtp://u:pw@mail"}, "secrets": {"env": {
        "IDP_SMTP_URL": None}}}, "is a secret setting"),
    ("value-in-secret-ref", {"config": {"IDP_ISSUER": ISSUER}, "secrets": {"env": {
        "IDP_SMTP_URL": {"key": "IDP_SMTP_URL", "value": "smtp://u:pw@mail"}}}},
     "secret values never go in values"),
    ("grace-too-short", {"config": {"IDP_ISSUER": ISSUER}, "web": {
        "terminationGracePeriodSeconds": 30}}, "must exceed"),
    # Values written before web.http: silently ignoring them would change the pods' sizes.
    ("old-web-gunicorn", {"config": {"IDP_ISSUER": ISSUER}, "web": {"gunicorn": {"workers": 4}}},
     "web.gunicorn is now web.http"),
    ("unknown-server", {"config": {"IDP_ISSUER": ISSUER}, "web": {"server": "uwsgi"}},
     "web.server must be granian or gunicorn"),
]


@pytest.mark.parametrize("values, message", [case[1:] for case in REFUSED],
                         ids=[case[0] for case in REFUSED])
def test_the_chart_refuses_unsafe_values(values, message):
    with pytest.raises(helm.HelmError, match=message):
        render(values)


def test_a_secret_may_come_from_its_own_secret():
    manifests = render({"config": {"IDP_ISSUER": ISSUER}, "secrets": {"env": {
        "IDP_DATABASE_URL": {"secret": "ouderportaal-db-app", "key": "uri"}}}})
    env = {e["name"]: e for e in container(manifests, "Deployment", "web")["env"]}
    assert env["IDP_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "ouderportaal-db-app", "key": "uri"}
    assert env["IDP_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "ouderportaal"


# --- network ---------------------------------------------------------------------------------
def test_network_policy_limits_traffic_both_ways(release):
    _, manifests = release
    policy = one(manifests, "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    # It covers every pod of the release: web, worker and jobs.
    selector = policy["podSelector"]["matchLabels"]
    for spec_owner in of_kind(manifests, "Deployment"):
        labels = spec_owner["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items()
    ingress = {rule["ports"][0]["port"]: rule["from"] for rule in policy["ingress"]}
    assert set(ingress) == {8000, 9100}
    assert ingress[8000][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "ingress-nginx"}
    assert ingress[9100][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"}
    egress_ports = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
    assert {(53, "UDP"), (53, "TCP"), (5432, "TCP"), (443, "TCP")} <= egress_ports
    assert egress_ports & {(6379, "TCP"), (6380, "TCP")} and (587, "TCP") in egress_ports
    backchannel = [r for r in policy["egress"] if r["ports"] == [{"port": 443, "protocol": "TCP"}]]
    assert backchannel[0]["to"][0]["ipBlock"]["except"] == ["169.254.169.254/32"]


# --- scale and availability ------------------------------------------------------------------
def test_production_values_are_highly_available():
    manifests = render(VALUES["production"])
    hpa = one(manifests, "HorizontalPodAutoscaler")["spec"]
    assert hpa["scaleTargetRef"]["name"] == one(manifests, "Deployment", "web")["metadata"]["name"]
    assert hpa["minReplicas"] >= 3
    assert "replicas" not in one(manifests, "Deployment", "web")["spec"]  # the HPA owns it
    assert one(manifests, "PodDisruptionBudget")["spec"]["minAvailable"] == 2
    assert one(manifests, "Deployment", "worker")["spec"]["replicas"] == 2
    assert of_kind(manifests, "ServiceMonitor") and of_kind(manifests, "PodMonitor")
    for deployment in of_kind(manifests, "Deployment"):
        keys = {c["topologyKey"] for c in deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]}
        assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}


def test_defaults_have_no_autoscaler_and_no_service_monitor():
    manifests = render(VALUES["default"])
    assert one(manifests, "Deployment", "web")["spec"]["replicas"] == 2
    assert not of_kind(manifests, "HorizontalPodAutoscaler")
    assert not of_kind(manifests, "ServiceMonitor")  # its CRD may not exist
    assert not of_kind(manifests, "PodMonitor")
    assert one(manifests, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


def test_every_top_level_value_is_documented():
    lines = (CHART / "values.yaml").read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"[A-Za-z]\w*:", line):
            assert lines[number - 1].startswith("#"), f"values.yaml: {line!r} has no comment above it"
