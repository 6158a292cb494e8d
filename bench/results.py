"""Reading wrk's output and turning measurements into the report's rows (standard library only)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

_UNITS_US = {"us": 1.0, "ms": 1000.0, "s": 1_000_000.0, "m": 60_000_000.0}
_PERCENTILE_LINE = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s+(\d+(?:\.\d+)?)(us|ms|s|m)\s*$")
PERCENTILES = ("50", "90", "99")


@dataclass
class Measurement:
    """One scenario against one configuration: throughput, latency percentiles (µs), errors."""

    requests: int
    duration_s: float
    latency_us: dict[str, float]
    errors: int = 0
    exhausted: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


def parse_wrk_output(text: str) -> Measurement:
    """The ``BENCH_JSON`` line printed by wrk/report.lua, or wrk's own ``--latency`` text."""
    for line in text.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line[len("BENCH_JSON ") :])
            errors = sum(data[k] for k in data if k.startswith("errors_"))
            return Measurement(
                requests=data["requests"],
                duration_s=data["duration_us"] / 1_000_000,
                latency_us={_key(p): float(v) for p, v in data["latency_us"].items()},
                errors=errors,
                exhausted=bool(data.get("exhausted")),
            )
    return _parse_wrk_text(text)


def _key(percentile: str) -> str:
    return f"{float(percentile):g}"


def _parse_wrk_text(text: str) -> Measurement:
    latency: dict[str, float] = {}
    in_distribution = False
    requests = duration = None
    errors = 0
    for line in text.splitlines():
        if "Latency Distribution" in line:
            in_distribution = True
            continue
        match = _PERCENTILE_LINE.match(line)
        if in_distribution and match:
            latency[_key(match[1])] = float(match[2]) * _UNITS_US[match[3]]
            continue
        in_distribution = False
        if m := re.match(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)", line):
            requests, duration = int(m[1]), float(m[2]) * _UNITS_US[m[3]] / 1_000_000
        if m := re.match(r"^\s*Non-2xx or 3xx responses: (\d+)", line):
            errors += int(m[1])
        if m := re.match(r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", line):
            errors += sum(int(g) for g in m.groups())
    if requests is None or duration is None:
        raise ValueError("not wrk output: no 'N requests in T' line")
    return Measurement(requests=requests, duration_s=duration, latency_us=latency, errors=errors)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list (what wrk reports too)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def measurement_from_latencies(latencies_s: list[float], duration_s: float, errors: int) -> Measurement:
    """A Measurement from per-request latencies measured by a Python driver."""
    values = sorted(v * 1_000_000 for v in latencies_s)
    return Measurement(
        requests=len(values),
        duration_s=duration_s,
        latency_us={_key(p): percentile(values, float(p)) for p in ("50", "75", "90", "99", "99.9")},
        errors=errors,
    )


def format_latency(us: float | None) -> str:
    if us is None or math.isnan(us):
        return "-"
    if us >= 1_000_000:
        return f"{us / 1_000_000:.2f}s"
    if us >= 1000:
        return f"{us / 1000:.1f}ms"
    return f"{us:.0f}us"


def ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "-"
    return f"{a / b:.2f}x" if a / b < 100 else f"{a / b:.0f}x"


def ratios_to(
    base: dict[str, Measurement], others: dict[str, dict[str, Measurement]], scenarios
) -> dict[str, dict[str, float | None]]:
    """Each configuration's req/s divided by the base configuration's, per scenario (None when
    either side was not measured)."""
    return {
        name: {
            s: (results[s].rps / base[s].rps if s in results and s in base and base[s].rps else None)
            for s in scenarios
        }
        for name, results in others.items()
    }


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (readable in a terminal too)."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += [
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows
    ]
    return "\n".join(lines)
