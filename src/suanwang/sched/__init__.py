"""suanwang.sched: scheduling policies, pure ``(state, queue, now_s) -> decisions``.

Used unchanged by the simulator (virtual clock) and the live control loop (wall clock). Entry
points: :func:`suanwang.sched.registry.get_policy`, the :class:`~suanwang.sched.policy.Policy`
protocol, the value types in :mod:`suanwang.sched.state` and :mod:`suanwang.sched.decisions`.
See docs/scheduling.md.
"""
