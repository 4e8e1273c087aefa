"""`/metrics` for Prometheus and `/healthz` for readiness, on the engine's own HTTP server."""

from __future__ import annotations

import json

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.reports.metrics import Health, Metrics


def routes(metrics: Metrics, health: Health) -> list[web.RouteDef]:
    async def serve_metrics(request: web.Request) -> web.Response:
        body = await metrics.scrape()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def serve_health(request: web.Request) -> web.Response:
        ready, report = await health.check()
        return web.json_response(report, status=200 if ready else 503, dumps=json.dumps)

    return [web.get("/metrics", serve_metrics), web.get("/healthz", serve_health)]
