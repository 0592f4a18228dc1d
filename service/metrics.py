"""Prometheus text exposition of a few counters and a latency histogram, with no extra dependency."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# Why the server closed a connection (service/web/connections.py): "idle" is routine, the others are slow or
# abusive clients, or more of them than the process holds.
CLOSE_REASONS = ("idle", "header_timeout", "body_timeout", "bad_request", "evicted", "over_capacity")


@dataclass(slots=True)
class Metrics:
    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    latency_buckets: Counter[tuple[str, float]] = field(default_factory=Counter)
    latency_sum: dict[str, float] = field(default_factory=dict)
    latency_count: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    connections_open: int = 0
    connections_closed: Counter[str] = field(default_factory=Counter)
    accept_failures: int = 0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, status)] += 1
        for bound in BUCKETS:
            if seconds <= bound:
                self.latency_buckets[(route, bound)] += 1
        self.latency_sum[route] = self.latency_sum.get(route, 0.0) + seconds
        self.latency_count[route] += 1

    def appended(self, event_type: str, count: int = 1) -> None:
        self.events[event_type] += count

    def render(self, subscriber_lag: Mapping[str, int] | None = None, renders: tuple[int, int] = (0, 0)) -> str:
        lines = [
            "# HELP comments_http_requests_total HTTP requests by method, route and status.",
            "# TYPE comments_http_requests_total counter",
        ]
        for (method, route, status), value in sorted(self.requests.items()):
            lines.append(
                f'comments_http_requests_total{{method="{method}",route="{_esc(route)}",status="{status}"}} {value}'
            )
        lines += [
            "# HELP comments_http_request_seconds Request latency by route.",
            "# TYPE comments_http_request_seconds histogram",
        ]
        for route in sorted(self.latency_count):
            label = _esc(route)
            for bound in BUCKETS:
                count = self.latency_buckets[(route, bound)]
                lines.append(f'comments_http_request_seconds_bucket{{route="{label}",le="{bound}"}} {count}')
            total = self.latency_count[route]
            lines.append(f'comments_http_request_seconds_bucket{{route="{label}",le="+Inf"}} {total}')
            lines.append(f'comments_http_request_seconds_sum{{route="{label}"}} {self.latency_sum[route]:.6f}')
            lines.append(f'comments_http_request_seconds_count{{route="{label}"}} {total}')
        lines += [
            "# HELP comments_events_appended_total Events appended to the log by this process, by type.",
            "# TYPE comments_events_appended_total counter",
        ]
        for kind, value in sorted(self.events.items()):
            lines.append(f'comments_events_appended_total{{type="{kind}"}} {value}')
        lines += [
            "# HELP comments_captcha_renders_total CAPTCHA images and sounds served, drawn anew or reused.",
            "# TYPE comments_captcha_renders_total counter",
            f'comments_captcha_renders_total{{source="drawn"}} {renders[0]}',
            f'comments_captcha_renders_total{{source="reused"}} {renders[1]}',
        ]
        lines += [
            "# HELP comments_connections_open Client connections this process holds now.",
            "# TYPE comments_connections_open gauge",
            f"comments_connections_open {self.connections_open}",
            "# HELP comments_connections_closed_total Connections the server closed, by reason.",
            "# TYPE comments_connections_closed_total counter",
        ]
        for reason in CLOSE_REASONS:
            lines.append(f'comments_connections_closed_total{{reason="{reason}"}} {self.connections_closed[reason]}')
        lines += [
            "# HELP comments_accept_failures_total Connections that could not be accepted: no file descriptor left.",
            "# TYPE comments_accept_failures_total counter",
            f"comments_accept_failures_total {self.accept_failures}",
        ]
        lines += [
            "# HELP comments_subscriber_lag_events Events in the log that a subscriber has not handled yet.",
            "# TYPE comments_subscriber_lag_events gauge",
        ]
        for name, lag in sorted((subscriber_lag or {}).items()):
            lines.append(f'comments_subscriber_lag_events{{subscriber="{_esc(name)}"}} {lag}')
        return "\n".join(lines) + "\n"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
