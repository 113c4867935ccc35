"""The benchmark suite (issue 7): ``bench/run`` measures the service as it runs in production,
its physical limits on the same core, and a peer (node-oidc-provider), and writes
bench/results/latest.json and latest.md. Benchmark-only code: nothing in ``idp`` imports it."""
