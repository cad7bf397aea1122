"""Many service areas in one scenario: ``[areas]`` expanded into single-area scenarios, run as tasks.

- :mod:`.config` — the ``[areas]`` models, :func:`~.config.expand_areas` (one ordinary single-area
  :class:`~simulator.scenario.Scenario` per area, seeds from the scenario seed and the area name) and
  the check for areas close enough to share serving satellites;
- :mod:`.execute` — :func:`~.execute.run_areas`: the areas as tasks, serially or on Dask, with
  retries, resume, progress and the top-level ``areas.json``.

This package imports nothing heavy at import time (the scenario loader imports :mod:`.config`).
Layout of the run directory: ``docs/outputs.md``; fields: ``docs/scenarios.md``.
"""
