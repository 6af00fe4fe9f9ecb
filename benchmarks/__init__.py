"""Speed and scaling benchmarks of the cluster model: `python -m benchmarks` (or `make bench`)."""
