"""The benchmark harness behind ``nox -s bench`` (see docs/benchmarks.md).

* :mod:`bench.baselines` the reference WSGI apps every figure is divided by
* :mod:`bench.seed`      realistic data in each service's database
* :mod:`bench.stack`     the baseline apps under the project's gunicorn and nginx configuration
* :mod:`bench.wrk`       one wrk run, its numbers as a :class:`bench.wrk.Result`
* :mod:`bench.run`       the whole run, inside ``deploy/native.py``
* :mod:`bench.report`    the table, the targets, the JSON file and the chart
* :mod:`bench.hookcost`  the shared hooks' CPU per request, in process
* :mod:`bench.inprocess` the api's hot endpoints against the bare views, in process
"""
