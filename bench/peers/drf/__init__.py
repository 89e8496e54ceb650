"""The task list as a Django REST framework project writes it (a peer: bench/peers/__init__.py).

One Django app holding the settings, unmanaged models over the api's existing tables, a
``ModelSerializer`` with the tags nested, and ``ListAPIView`` with ``PageNumberPagination``:

    /                                  hello-world
    /projects/<id>/tasks               the task list
    /secure/projects/<id>/tasks        the same after an EdDSA bearer-token check
"""
