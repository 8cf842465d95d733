"""suanwang.sim: discrete-event federation simulator with a virtual clock.

:func:`suanwang.sim.engine.simulate` replays a :class:`~suanwang.sim.workload.Workload` (from
:mod:`suanwang.sim.traces`) on a :class:`~suanwang.sim.cluster.SimCluster` under a policy from
:mod:`suanwang.sched`; :mod:`suanwang.sim.metrics` summarizes, :mod:`suanwang.sim.plots` draws.
See docs/scheduling.md.
"""
