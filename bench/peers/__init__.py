"""The API task list as people would write it with the frameworks they compare Flask with.

Each peer answers the same request as ``api_task_list`` (one project's tasks with a status
filter, a page of them with their tags, and the total) from the same seeded tables, behind the
same nginx gateway with the same worker count:

* ``fastapi_app``: the way the full-stack FastAPI template writes its list endpoints: SQLModel
  tables, a synchronous endpoint with a ``Session`` dependency, a pydantic response model,
  ``skip``/``limit`` plus a ``count``; served by uvicorn workers, as that template serves it.
* ``drf``: Django REST framework: a ``ModelSerializer`` with the tags nested, a
  ``ListAPIView`` with ``PageNumberPagination``; served by gunicorn with gthread workers.

Each has a second route that first checks an EdDSA-signed identity token against auth's public
keys (``jwt_check``), so the comparison with our authenticated endpoint is like for like. They
live here, with their own pinned requirements (``requirements.txt``), and are installed only by
``nox -s bench``: nothing in the services depends on them.
"""
