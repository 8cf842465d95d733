"""suanwang.reliability: failure model, checkpoint interval and expected goodput (pure).

Modules: :mod:`rates` (job MTBF from catalog failure rates), :mod:`checkpoint_cost` (stall,
persist and restart times), :mod:`interval` (Young, Daly, async constraint), :mod:`renewal`
(exact expected time under exponential failures), :mod:`goodput` (ETTR, lost work, time to
train; the planner's entry point :func:`goodput.assess`), :mod:`montecarlo` (check with an
explicit ``rng``). See docs/reliability.md.
"""
