"""suanwang.control: the live control loop (docs/control.md).

:func:`suanwang.control.runner.run_controller` runs :meth:`suanwang.control.reconcile.Controller.
tick` — observe, metrics, cancel, admit, schedule (the same ``sched`` policy the simulator runs),
dispatch — over the store and one execution backend per center.
"""
