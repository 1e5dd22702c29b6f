"""The gateway's ``/metrics`` as the tests read it: fetched over HTTP, parsed by prometheus-client's own
parser of the text format (what a Prometheus server reads), and summed over the labels not asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Scrape", "scrape", "wait_for"]


@dataclass(frozen=True)
class Scrape:
    """One scrape: every sample as (name, labels, value)."""

    samples: list[tuple[str, dict[str, str], float]]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        return cls(
            [
                (sample.name, dict(sample.labels), sample.value)
                for family in text_string_to_metric_families(text)
                for sample in family.samples
            ]
        )

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples called ``name`` whose labels include ``labels``."""
        return sum(
            value
            for sample, have, value in self.samples
            if sample == name and all(have.get(key) == wanted for key, wanted in labels.items())
        )

    def labels(self, name: str, label: str) -> set[str]:
        """The values ``label`` takes on the samples called ``name``."""
        return {have[label] for sample, have, _ in self.samples if sample == name and label in have}


def scrape(base_url: str, headers: dict[str, str] | None = None) -> Scrape:
    answer = httpx.get(f"{base_url}/metrics", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return Scrape.parse(answer.text)


def wait_for(read: Callable[[], Scrape], condition: Callable[[Scrape], bool], seconds: float = 10) -> Scrape:
    """Scrape until ``condition`` holds (an exchange is counted when it has ended: just after its client
    saw the end); the last scrape, whether or not it holds."""
    deadline = time.monotonic() + seconds
    while True:
        current = read()
        if condition(current) or time.monotonic() > deadline:
            return current
        time.sleep(0.05)
