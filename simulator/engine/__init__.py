"""The engine: the SimPy processes that wire kernels together, and the run directory they write.

``schemas`` holds the explicit Arrow schemas of every output table, ``recorder`` the chunked,
atomic Parquet writer with its readers and run-directory life cycle (``open_run``), and
``manifest`` the ``manifest.json`` of a run. ``docs/outputs.md`` documents the layout for users.
"""
