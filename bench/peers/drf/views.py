"""Serializer, pagination and views of the DRF peer, as the DRF tutorial shapes them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from rest_framework import authentication, exceptions, generics, permissions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from bench.peers import jwt_check
from bench.peers.drf.models import Project, Task


class TaskSerializer(serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="tag")

    class Meta:
        model = Task
        fields = [
            "id", "project", "owner_id", "title", "notes", "status", "priority", "due_date",
            "created_at", "updated_at", "version", "tags",
        ]  # fmt: skip


class TaskPagination(PageNumberPagination):
    page_size_query_param = "per_page"
    max_page_size = 100


class TaskList(generics.ListAPIView):
    serializer_class = TaskSerializer
    pagination_class = TaskPagination

    def get_queryset(self) -> QuerySet[Task]:
        project = get_object_or_404(Project, pk=self.kwargs["project_id"])
        status = self.request.query_params.get("status", "todo")
        return (
            Task.objects.filter(project=project, status=status)
            .order_by("-created_at", "-id")
            .prefetch_related("tags")
        )


class TokenUser:
    """The caller a valid token names (no user table: the token is the identity)."""

    is_authenticated = True

    def __init__(self, claims: dict[str, Any]) -> None:
        self.claims = claims


class BearerTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[TokenUser, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        try:
            claims = jwt_check.verify(header)
        except ValueError as error:
            raise exceptions.AuthenticationFailed(str(error)) from None
        return TokenUser(claims), header or ""

    def authenticate_header(self, request: Request) -> str:  # noqa: ARG002
        return "Bearer"


class SecureTaskList(TaskList):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]


def hello(request: HttpRequest) -> HttpResponse:  # noqa: ARG001
    return HttpResponse(b"Hello, World!", content_type="text/plain")
