"""Analytic performance model: (model, parallelism, hardware) -> step time, memory, MFU.

Public API:

- :func:`predict` (``suanwang.perf.predict``): one configuration -> :class:`Prediction`.
- :func:`check_config`: raise a ConfigError naming the field of an impossible configuration.
- :func:`parse_scenario` (``suanwang.perf.scenario``): a loaded SCENARIO.yaml -> :class:`Scenario`.
- :mod:`suanwang.perf.validate`: published-run CSV text -> predicted vs measured.
- Vectorised building blocks for the planner: :class:`Candidates`, :func:`step.step_time`,
  :func:`memory.memory`.

Pure: no I/O, no clock. Formulas and sources: docs/perf-model.md.
"""

from suanwang.perf.candidates import Candidates
from suanwang.perf.predict import Prediction, check_config, predict
from suanwang.perf.scenario import Scenario, parse_scenario

__all__ = ["Candidates", "Prediction", "Scenario", "check_config", "parse_scenario", "predict"]
