"""``/metrics`` and ``/healthz`` on a loopback address (the agent's only listening socket)."""

from __future__ import annotations

from aiohttp import web

from runner.agent.metrics import Metrics


async def serve(metrics: Metrics, address: str) -> web.AppRunner:
    """Start serving; the caller cleans the returned runner up at shutdown."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")

    async def metrics_page(_request: web.Request) -> web.Response:
        return web.Response(text=metrics.render(),
                            content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})

    async def health(_request: web.Request) -> web.Response:
        if metrics.healthy:
            return web.Response(text="ok\n")
        return web.Response(status=503, text="the coordinator cannot be reached\n")

    app = web.Application()
    app.router.add_get("/metrics", metrics_page)
    app.router.add_get("/healthz", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, int(port)).start()
    return runner
