"""The DRF peer's URLs."""

from __future__ import annotations

from django.urls import path

from bench.peers.drf.views import SecureTaskList, TaskList, hello

urlpatterns = [
    path("", hello),
    path("projects/<int:project_id>/tasks", TaskList.as_view()),
    path("secure/projects/<int:project_id>/tasks", SecureTaskList.as_view()),
]
