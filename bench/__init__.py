"""The benchmark harness: ``python3 bench/run.py`` (see docs/performance.md). Never imported by the apps."""
