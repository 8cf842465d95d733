"""Schema fuzzing with schemathesis against the ASGI app: no input may cause a server error.

Every operation of /api/v1/openapi.json gets generated inputs, both schema-valid (positive) and
schema-violating (negative), with a valid admin tenant's token and job ids that exist (1, 2) as
well as ones that do not. /plans runs the real planner, so it gets fewer examples; /sim (the
dashboard's simulator) is left to its owner's tests. Hypothesis drives the generation directly
(``@given`` over ``operation.as_strategy()``), derandomized so a failure reproduces.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.integration.api.conftest import BATCH, TINY, build_platform, close

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.slow]
EXAMPLES = {"positive": 25, "negative": 15}
SLOW = {"POST /api/v1/plans": 4}


@pytest.fixture(scope="module")
def fuzz_platform(tmp_path_factory):
    p = build_platform(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'api.db'}")
    for spec in (TINY, BATCH):
        p.client.post("/api/v1/jobs", json=spec, headers=p.h("root"))
    yield p
    close(p)


def _operations(app):
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    ops = [r.ok() for r in schema.get_all_operations()]
    return [op for op in ops if not op.path.startswith("/api/v1/sim")]


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_server_errors(fuzz_platform, mode):
    p = fuzz_platform
    ops = _operations(p.app)
    assert len(ops) >= 14
    failures: list[str] = []
    for op in ops:
        n = min(SLOW.get(op.label, EXAMPLES[mode]), EXAMPLES[mode])

        @settings(max_examples=n, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy(generation_mode=GenerationMode(mode)))
        def run(case):
            response = case.call(headers=p.h("root"))
            if response.status_code >= 500:
                failures.append(f"{case.operation.label}: {response.status_code} for "
                                f"{case.path_parameters} {case.query} {case.body!r:.300}")

        run()
    assert failures == [], "\n".join(failures[:10])


def test_stateful_no_server_errors(sqlite_platform):
    """Stateful: schemathesis follows the OpenAPI links of POST /jobs (show, cancel, events,
    metrics, logs of the job just created) in generated sequences. Each sequence starts from an
    empty job table, so a replayed sequence meets the same state (Hypothesis requires it)."""
    from hypothesis.stateful import run_state_machine_as_test
    from sqlalchemy import delete

    from suanwang.store.models import Job, JobEvent

    p = sqlite_platform
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", p.app)
    base = schema.exclude(path_regex="^/api/v1/sim").exclude(path="/api/v1/plans")
    failures: list[str] = []
    calls: dict[str, int] = {}

    class Machine(base.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": p.h("a")}

        def validate_response(self, response, case, **kwargs):
            calls[case.operation.label] = calls.get(case.operation.label, 0) + 1
            if response.status_code >= 500:
                failures.append(f"{case.operation.label}: {response.status_code}")

        def teardown(self):
            with p.write() as s:
                s.execute(delete(JobEvent))
                s.execute(delete(Job))
                s.commit()

    run_state_machine_as_test(Machine, settings=settings(
        max_examples=15, stateful_step_count=6, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck)))
    assert failures == []
    assert calls.get("POST /api/v1/jobs", 0) > 0
