"""Version 1 of the tasks API: a blueprint at ``/v1`` holding the Flask-RESTful resources."""

from __future__ import annotations

from typing import NoReturn

from flask import Blueprint
from flask_restful import Api

from api_service.ratelimit import add_rate_limit_headers, count_request
from api_service.v1.resources import ProjectItem, ProjectList, ProjectTaskList, TaskItem

bp = Blueprint("v1", __name__, url_prefix="/v1")


class ProblemApi(Api):  # type: ignore[misc]
    """A Flask-RESTful Api that leaves every error to the app's problem+json handlers.

    Flask-RESTful would otherwise render errors itself (plain JSON, not problem+json, and
    without the headers such as Allow or WWW-Authenticate the shared handlers keep). Raising
    here makes its error router fall through to the app's handlers.
    """

    def handle_error(self, e: Exception) -> NoReturn:
        raise e


api = ProblemApi(bp)
api.add_resource(ProjectList, "/projects", endpoint="projects")
api.add_resource(ProjectItem, "/projects/<int:project_id>", endpoint="project")
api.add_resource(ProjectTaskList, "/projects/<int:project_id>/tasks", endpoint="project_tasks")
api.add_resource(TaskItem, "/tasks/<int:task_id>", endpoint="task")


@bp.before_request
def _count_request() -> None:
    # One budget per caller and endpoint (see api_service.ratelimit), before any view.
    count_request()


bp.after_request(add_rate_limit_headers)
