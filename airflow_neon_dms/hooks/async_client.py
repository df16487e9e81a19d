"""aiobotocore clients for triggers, made without blocking the triggerer's event loop."""

from __future__ import annotations

import asyncio
from typing import Any


class AsyncClientWithoutBlockingMixin:
    """Makes ``get_async_conn`` of an amazon-provider hook safe to await on the triggerer's loop.

    aiobotocore reads botocore's data files (the service model, endpoint rules, partitions, retry
    and default settings: JSON files of several hundred kB) synchronously when a client context is
    entered, and the hook reads its Airflow connection synchronously. Here the session is made,
    the connection read and those files loaded into the session's loader cache in a worker
    thread, so entering the client on the loop only reads the cache.
    """

    async def get_async_conn(self) -> Any:
        return await asyncio.to_thread(self._async_conn_from_warm_session)

    def _async_conn_from_warm_session(self) -> Any:
        hook: Any = self
        service = hook._resolve_service_name(is_resource_type=False)
        session = hook.get_session(region_name=hook.region_name, deferrable=True)
        # aiobotocore's own cache warm-up (AioSession.warm_up_loader_caches): the generic data
        # files and this service's models, with the arguments create_client later asks for.
        session.warm_up_loader_caches(service)
        return session.create_client(
            service_name=service,
            endpoint_url=hook.conn_config.get_service_endpoint_url(service_name=service),
            config=hook._get_config(None),
            verify=hook.verify,
        )
