"""Websocket routes of every app."""

from django.urls import path

from imports.consumers import ImportsConsumer

websocket_urlpatterns = [
    path("ws/imports/", ImportsConsumer.as_asgi()),
]
