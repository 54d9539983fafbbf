"""Websocket consumer that pushes import events of every job the user may see."""

import logging
from collections import deque

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from imports.events import (
    GROUP_ALL,
    group_for_store,
    group_for_user,
    import_event_payload,
)
from imports.selectors import import_job_list_for_user
from inventory.access import store_ids_for_user

logger = logging.getLogger(__name__)

CLOSE_NOT_AUTHENTICATED = 4401
SNAPSHOT_JOBS = 20
# The copies of one send reach a consumer within a few messages of each other, so it
# remembers only the latest send ids.
RECENT_SEND_IDS = 64


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
        self.recent_send_ids: deque[str] = deque(maxlen=RECENT_SEND_IDS)
        self.groups_joined = self._groups()
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        jobs = await sync_to_async(import_job_list_for_user)(user=user, limit=SNAPSHOT_JOBS)
        await self.send_json(
            {"type": "import.snapshot", "jobs": [import_event_payload(job=job) for job in jobs]}
        )

    def _groups(self) -> list[str]:
        if self.store_ids is None:
            return [GROUP_ALL]
        return [group_for_user(self.user_id)] + [group_for_store(pk) for pk in sorted(self.store_ids)]

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

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
        send_id = message.get("send_id")
        if send_id is not None:
            if send_id in self.recent_send_ids:
                return
            self.recent_send_ids.append(send_id)
        await self.send_json({"type": "import.event", "event": message["event"]})

    def _may_see(self, message: dict) -> bool:
        if self.store_ids is None:
            return True
        if message.get("created_by") == self.user_id:
            return True
        job_stores = set(message.get("store_ids") or [])
        return bool(job_stores) and job_stores <= self.store_ids
