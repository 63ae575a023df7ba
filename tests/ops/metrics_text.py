"""Reads the Prometheus text format back into numbers, so tests compare values instead of strings."""

import re

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> dict[tuple[str, frozenset], float]:
    """{(metric name, frozenset of (label, value)): value} for every sample; fails on a malformed line."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        name, labels, value = match.groups()
        samples[(name, frozenset(_LABEL.findall(labels or "")))] = float(value)
    return samples


def value(samples: dict, name: str, **labels) -> float:
    """The sample with exactly these labels, 0 when absent."""
    wanted = frozenset((key, str(val)) for key, val in labels.items())
    return samples.get((name, wanted), 0.0)
