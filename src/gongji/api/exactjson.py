"""REST bodies parsed exactly, and off the event loop when they are large.

FastAPI parses a JSON body with json.loads, so a number becomes a float before any schema
sees it: 0.29999999999999999 arrives as 0.3 and money.to_fen cannot tell. Parsed with
parse_float=Decimal, a `Money` field gets the client's exact number and to_fen refuses
what has more than two decimals. This is FastAPI's documented custom Request / APIRoute
pattern; json.dumps callers that may meet these Decimals pass money.json_default.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

# Parsing 1 MB of JSON takes milliseconds of CPU: above this it runs in a worker thread so
# that other requests keep being served meanwhile.
PARSE_IN_THREAD_ABOVE = 64 * 1024


def loads_exactly(raw: bytes | str) -> Any:
    return json.loads(raw, parse_float=Decimal)


class ExactJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            if len(body) > PARSE_IN_THREAD_ABOVE:
                self._json = await run_in_threadpool(loads_exactly, body)
            else:
                self._json = loads_exactly(body)
        return self._json


class ExactJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def exact(request: Request) -> Response:
            return await handler(ExactJSONRequest(request.scope, request.receive))

        return exact
