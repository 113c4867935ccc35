"""The physical limits of the core this runs on: one argon2id verification with the service's
own parameters (idp.settings defaults: m=19 MiB, t=2, p=1), and one signature and one
verification per signing algorithm (RS256: RSA-2048 PKCS#1 v1.5; ES256: P-256 ECDSA), with the
same library the service signs with (cryptography, under joserfc).

``taskset -c 0 python -m bench.limits`` prints them as JSON (operations per second, the median
of a few repeats), so they are measured on the service's core.
"""

import json
import os
import statistics
import time

from argon2 import PasswordHasher
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from idp.settings import SETTINGS

#: About the size of a signing input of one of our access tokens (header.claims, base64url).
SIGNING_INPUT = b"e" * 420


def per_second(operation, seconds: float = 0.7, repeats: int = 5) -> dict:
    rates = []
    for _ in range(repeats):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            operation()
            count += 1
        rates.append(count / elapsed)
    return {"per_second": round(statistics.median(rates), 1),
            "min": round(min(rates), 1), "max": round(max(rates), 1)}


def production_hasher() -> PasswordHasher:
    return PasswordHasher(
        time_cost=SETTINGS["IDP_ARGON2_TIME_COST"].default,
        memory_cost=SETTINGS["IDP_ARGON2_MEMORY_KIB"].default,
        parallelism=SETTINGS["IDP_ARGON2_PARALLELISM"].default,
    )


def measure(quick: bool = False) -> dict:
    seconds, repeats = (0.1, 1) if quick else (0.7, 5)
    hasher = production_hasher()
    stored = hasher.hash("fietsen langs de maas 2026")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_sig = rsa_key.sign(SIGNING_INPUT, padding.PKCS1v15(), hashes.SHA256())
    ec_sig = ec_key.sign(SIGNING_INPUT, ec.ECDSA(hashes.SHA256()))
    rsa_pub, ec_pub = rsa_key.public_key(), ec_key.public_key()
    return {
        "cpu_affinity": sorted(os.sched_getaffinity(0)),
        "argon2id_verify": {
            "parameters": {"m_kib": hasher.memory_cost, "t": hasher.time_cost, "p": hasher.parallelism},
            **per_second(lambda: hasher.verify(stored, "fietsen langs de maas 2026"), seconds, repeats),
        },
        "RS256_sign": per_second(
            lambda: rsa_key.sign(SIGNING_INPUT, padding.PKCS1v15(), hashes.SHA256()), seconds, repeats),
        "ES256_sign": per_second(
            lambda: ec_key.sign(SIGNING_INPUT, ec.ECDSA(hashes.SHA256())), seconds, repeats),
        "RS256_verify": per_second(
            lambda: rsa_pub.verify(rsa_sig, SIGNING_INPUT, padding.PKCS1v15(), hashes.SHA256()),
            seconds, repeats),
        "ES256_verify": per_second(
            lambda: ec_pub.verify(ec_sig, SIGNING_INPUT, ec.ECDSA(hashes.SHA256())), seconds, repeats),
    }


if __name__ == "__main__":
    import sys

    print(json.dumps(measure(quick="--quick" in sys.argv)))
