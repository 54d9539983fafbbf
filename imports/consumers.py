"""Websocket consumer that pushes import events of every job the user may see."""

import logging

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from imports.events import GROUP_ALL, import_event_payload
from imports.selectors import import_job_list_for_user
from inventory.access import store_ids_for_user

logger = logging.getLogger(__name__)

CLOSE_NOT_AUTHENTICATED = 4401
SNAPSHOT_JOBS = 20


class ImportsConsumer(AsyncJsonWebsocketConsumer):
    """Sends {"type": "import.snapshot", "jobs": [...]} on connect, then one
    {"type": "import.event", "event": {...}} per state change of a visible job."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Accept first: a close during the handshake reaches the browser as an HTTP 403
            # rejection, which carries no close code.
            await self.accept()
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        self.user_id = user.pk
        self.store_ids = await sync_to_async(store_ids_for_user)(user)
        await self.channel_layer.group_add(GROUP_ALL, self.channel_name)
        self.group_joined = True
        await self.accept()
        jobs = await sync_to_async(import_job_list_for_user)(user=user, limit=SNAPSHOT_JOBS)
        await self.send_json(
            {"type": "import.snapshot", "jobs": [import_event_payload(job=job) for job in jobs]}
        )

    async def disconnect(self, code: int) -> None:
        if getattr(self, "group_joined", False):
            await self.channel_layer.group_discard(GROUP_ALL, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        # The socket only pushes. Any client message, JSON or not, gets the current
        # snapshot in return, so a client can resynchronise after it missed events.
        user = self.scope["user"]
        jobs = await sync_to_async(import_job_list_for_user)(user=user, limit=SNAPSHOT_JOBS)
        await self.send_json(
            {"type": "import.snapshot", "jobs": [import_event_payload(job=job) for job in jobs]}
        )

    async def import_event(self, message: dict) -> None:
        if not self._may_see(message):
            return
        await self.send_json({"type": "import.event", "event": message["event"]})

    def _may_see(self, message: dict) -> bool:
        if self.store_ids is None:
            return True
        if message.get("created_by") == self.user_id:
            return True
        job_stores = set(message.get("store_ids") or [])
        return bool(job_stores) and job_stores <= self.store_ids
