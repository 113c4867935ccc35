"""From the raw rounds to the summary (medians, spread, ratios, targets) and its Markdown table."""

import statistics

#: endpoint -> (title, what its limit is)
ENDPOINTS = {
    "discovery": ("Discovery", None),
    "jwks": ("JWKS", None),
    "sign_in": ("Full sign-in (3 requests, 1 argon2id)", "argon2id"),
    "authorize_sso": ("Authorization with a session (code)", None),
    "code_exchange": ("Code exchange", "token_signatures"),
    "refresh": ("Refresh-token grant", "token_signatures"),
    "userinfo": ("Userinfo", "verify"),
    "introspection": ("Introspection", "verify"),
    "rp_verify": ("RP verifies an access token (in-process)", "verify"),
}
PEER_TARGETS = {"discovery": 1.0, "jwks": 1.0, "code_exchange": 1.0, "refresh": 1.0}


def _median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 2) if values else None


def _phase(rounds: list[dict], name: str) -> dict | None:
    samples = [r[name] for r in rounds if name in r]
    if not samples:
        return None
    rates = [s["per_second"] for s in samples]
    out = {"per_second": _median(rates), "min_per_second": min(rates),
           "max_per_second": max(rates), "runs": len(samples)}
    for key in ("p50_ms", "p95_ms", "p99_ms", "cpu_ms_per_request"):
        out[key] = _median([s.get(key) for s in samples])
    errors = sum(s.get("errors", 0) for s in samples)
    if errors:
        out["errors"] = errors
        out["first_error"] = next(s["first_error"] for s in samples if s.get("first_error"))
    if "offered_per_second" in samples[0]:
        out["offered_per_second"] = _median([s["offered_per_second"] for s in samples])
    if "alg" in samples[0]:
        out["alg"] = samples[0]["alg"]
    return out


def limits_per_second(limits: dict, at_alg: str) -> dict:
    """The cost of the cryptography an endpoint cannot avoid, as operations per second."""
    id_token, access_token = limits["RS256_sign"]["per_second"], limits[f"{at_alg}_sign"]["per_second"]
    return {
        "argon2id": limits["argon2id_verify"]["per_second"],
        # one ID token (RS256, the default) and one access token per token response
        "token_signatures": round(1 / (1 / id_token + 1 / access_token), 1),
        "verify": limits[f"{at_alg}_verify"]["per_second"],
    }


def summarize(results: dict) -> dict:
    ours_rounds = results["rounds"]["ours"]
    peer_rounds = results["rounds"]["peer"]
    at_alg = (ours_rounds[0].get("rp_verify") or {}).get("alg", "RS256")
    limit = limits_per_second(results["limits"], at_alg)
    endpoints = {}
    for name, (title, limit_kind) in ENDPOINTS.items():
        ours = _phase(ours_rounds, name)
        if ours is None:
            continue
        entry = {"title": title, "ours": ours}
        if limit_kind:
            entry["limit"] = {"kind": limit_kind, "per_second": limit[limit_kind]}
            entry["ratio_to_limit"] = round(ours["per_second"] / limit[limit_kind], 3)
        peer = _phase(peer_rounds, name) if name != "authorize_sso" or peer_rounds else None
        if peer:
            entry["peer"] = peer
            entry["ratio_to_peer"] = round(ours["per_second"] / peer["per_second"], 2)
        endpoints[name] = entry
    summary = {k: v for k, v in results.items() if k != "rounds"}
    summary.update(access_token_alg=at_alg, endpoints=endpoints,
                   token_at_70pct=_phase(ours_rounds, "token_at_70pct"))
    if results["rounds"].get("scale"):
        summary["scale"] = {name: {"base": _phase(results["rounds"]["scale_base"], name),
                                   "scaled": _phase(results["rounds"]["scale"], name)}
                            for name in ("sign_in", "code_exchange", "refresh")}
    sign_in = endpoints.get("sign_in")
    if sign_in and sign_in["ours"].get("cpu_ms_per_request"):
        # The same ratio by CPU time, which other programs on the machine disturb less.
        hash_ms = 1000 / limit["argon2id"]
        sign_in["hash_share_of_cpu"] = round(hash_ms / sign_in["ours"]["cpu_ms_per_request"], 3)
    summary["targets"] = targets(summary)
    summary["raw_rounds"] = results["rounds"]
    return summary


def _met(value, ok):
    return {"value": value, "met": bool(value is not None and ok(value))}


def targets(s: dict) -> dict:
    e = s["endpoints"]
    out = {}
    if "sign_in" in e:
        out["sign-in >= 0.7 x argon2id verifications/s"] = _met(e["sign_in"]["ratio_to_limit"], lambda v: v >= 0.7)
        if "hash_share_of_cpu" in e["sign_in"]:
            out["(same, by CPU: argon2id share of a sign-in's CPU >= 0.7)"] = _met(
                e["sign_in"]["hash_share_of_cpu"], lambda v: v >= 0.7)
    for name in ("code_exchange", "refresh"):
        if name in e:
            out[f"{name} >= 1000/s"] = _met(e[name]["ours"]["per_second"], lambda v: v >= 1000)
    for name, at_least in PEER_TARGETS.items():
        if name in e and "ratio_to_peer" in e[name]:
            out[f"{name} >= {at_least} x peer"] = _met(e[name]["ratio_to_peer"], lambda v: v >= at_least)
    if s.get("token_at_70pct"):
        out["token p99 < 50 ms at 70% of max"] = _met(s["token_at_70pct"]["p99_ms"], lambda v: v < 50)
    memory = s.get("memory") or {}
    if memory.get("max_worker_rss_mib"):
        out["peak RSS per worker < 150 MB (143 MiB)"] = _met(memory["max_worker_rss_mib"], lambda v: v < 150 * 1e6 / 2**20)
    if (memory.get("redis") or {}).get("sessions"):
        out["Redis per session < 1 KiB"] = _met(memory["redis"]["total_bytes_per_session"], lambda v: v < 1024)
    for name, pair in (s.get("scale") or {}).items():
        base, scaled = pair["base"], pair["scaled"]
        if base and scaled and base["p50_ms"] and scaled["p50_ms"]:
            change = round(scaled["p50_ms"] / base["p50_ms"] - 1, 3)
            out[f"scale: {name} p50 within 10%"] = _met(change, lambda v: v <= 0.10)
            if base.get("cpu_ms_per_request") and scaled.get("cpu_ms_per_request"):
                cpu = round(scaled["cpu_ms_per_request"] / base["cpu_ms_per_request"] - 1, 3)
                out[f"scale: {name} CPU per request within 10%"] = _met(cpu, lambda v: v <= 0.10)
    return out


def _cpu(sample: dict) -> str:
    return _ms(sample.get("cpu_ms_per_request"))


def _ms(value):
    return "" if value is None else f"{value:.1f}"


def markdown(s: dict) -> str:
    m, limits = s["machine"], s["limits"]
    lines = [
        f"Run {s['started']} on {m['cpu_model']}, {m['cores']} cores (service on core 0, load "
        f"generator on core 1), Python {m['python']}, {m.get('node') or 'no node'}; load average "
        f"before {s['load_before']}, after {s.get('load_after')}. Medians of {s['config']['rounds']} "
        f"rounds of {s['config']['seconds']} s; {s['config'].get('server', 'granian')} {s['config']['workers']} workers x "
        f"{s['config']['threads']} threads; {s['config']['accounts']} parents; access tokens "
        f"{s['access_token_alg']}.",
        "",
        f"Limits on core 0 (mean of a measurement before and after the run): argon2id verification (m={limits['argon2id_verify']['parameters']['m_kib']} KiB, "
        f"t={limits['argon2id_verify']['parameters']['t']}, p={limits['argon2id_verify']['parameters']['p']}) "
        f"{limits['argon2id_verify']['per_second']}/s; RS256 sign {limits['RS256_sign']['per_second']:.0f}/s, "
        f"ES256 sign {limits['ES256_sign']['per_second']:.0f}/s; RS256 verify "
        f"{limits['RS256_verify']['per_second']:.0f}/s, ES256 verify {limits['ES256_verify']['per_second']:.0f}/s.",
        "",
        "| Endpoint | per s (min-max) | p50 ms | p95 ms | p99 ms | CPU ms/req | x limit | peer per s | x peer |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in s["endpoints"].values():
        o = entry["ours"]
        peer = entry.get("peer")
        limit = entry.get("limit")
        lines.append(
            f"| {entry['title']} | {o['per_second']:.0f} ({o['min_per_second']:.0f}-{o['max_per_second']:.0f})"
            f" | {_ms(o['p50_ms'])} | {_ms(o['p95_ms'])} | {_ms(o['p99_ms'])} | {_cpu(o)}"
            f" | {entry['ratio_to_limit']:.2f} of {limit['kind']} {limit['per_second']:.0f}/s" if limit else
            f"| {entry['title']} | {o['per_second']:.0f} ({o['min_per_second']:.0f}-{o['max_per_second']:.0f})"
            f" | {_ms(o['p50_ms'])} | {_ms(o['p95_ms'])} | {_ms(o['p99_ms'])} | {_cpu(o)} | -"
        )
        lines[-1] += (f" | {peer['per_second']:.0f} (p50 {_ms(peer['p50_ms'])}, p99 {_ms(peer['p99_ms'])}, "
                      f"CPU {_cpu(peer)} ms)"
                      f" | {entry['ratio_to_peer']:.2f} |" if peer else " | | |")
    t70 = s.get("token_at_70pct")
    if t70:
        lines += ["", f"Token endpoint (refresh grant) at 70% of its maximum: {t70['offered_per_second']:.0f}/s "
                      f"offered, p50 {_ms(t70['p50_ms'])} ms, p95 {_ms(t70['p95_ms'])} ms, p99 {_ms(t70['p99_ms'])} ms."]
    memory = s.get("memory") or {}
    if memory:
        redis = memory["redis"]
        lines += ["", f"Memory: RSS per worker {memory['worker_rss_mib']} MiB at the end, peak "
                      f"{memory['worker_peak_rss_mib']} MiB (master {memory['master_rss_mib']}); "
                      f"Redis per sign-in session {redis['total_bytes_per_session']} bytes (record "
                      f"{redis['signin_record_bytes']}, browser session {redis['browser_session_bytes']}, "
                      f"schedules {redis['schedules_bytes_per_session']}; {redis['sessions']} sessions)."]
    if s.get("scale"):
        lines += ["", "Scale: two identical services, one with each number of parents, measured turn and "
                      "turn about (medians of the rounds):", "",
                  "| Scale | parents | per s | p50 ms | p99 ms | CPU ms/req |", "|---|---|---|---|---|---|"]
        accounts = s["config"]["accounts"], s["config"]["scale_accounts"]
        for name, pair in s["scale"].items():
            for label, n in zip(("base", "scaled"), accounts):
                p = pair[label]
                lines.append(f"| {ENDPOINTS[name][0]} | {n:,} | {p['per_second']:.0f} | {_ms(p['p50_ms'])}"
                             f" | {_ms(p['p99_ms'])} | {_cpu(p)} |")
    plans = s.get("query_plans") or {}
    if plans:
        accounts = max(plans, key=int)
        rows = plans[accounts]["table_rows"]
        lines += ["", f"Query plans with {int(accounts):,} parents ({rows.get('refresh_token') or 0:,} refresh "
                      f"tokens, {rows.get('authorization_code') or 0:,} codes), `EXPLAIN ANALYZE`:", ""]
        for name, plan in plans[accounts]["plans"].items():
            scans = [line.strip().lstrip("-> ").split(" (")[0] for line in plan if "Scan" in line]
            lines.append(f"- {name}: {'; '.join(f'`{scan}`' for scan in scans)}")
    lines += ["", "| Target | value | met |", "|---|---|---|"]
    for name, t in s["targets"].items():
        lines.append(f"| {name} | {t['value']} | {'yes' if t['met'] else '**no**'} |")
    errors = {n: e["ours"].get("errors") for n, e in s["endpoints"].items() if e["ours"].get("errors")}
    if errors:
        lines += ["", f"Errors: {errors}"]
    return "\n".join(lines) + "\n"
