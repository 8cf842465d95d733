"""perf.calibrate: the fit recovers known parameters from synthetic runs; stacks group sources."""

from __future__ import annotations

from dataclasses import replace

import pytest

from suanwang.catalog import load_accelerators
from suanwang.catalog.efficiency import get_efficiency
from suanwang.core.hardware import Cluster
from suanwang.core.parallelism import Parallelism
from suanwang.perf import calibrate, predict
from suanwang.perf.validate import RunRow, parse_runs, row_model, validate
from tests.conftest import shared_data

HEADER = ("id,source,model,layers,hidden,heads,kv_heads,ffn_hidden,seq_len,vocab,"
          "global_batch_seqs,accelerator,num_gpus,gpus_per_node,tp,pp,dp,cp,vp,micro_batch,"
          "zero_stage,recompute,sequence_parallel,precision,attention,measured_step_time_s\n")
SHAPES = [  # (layers, hidden, heads, seq, tp, pp, dp, micro, batch) spanning sizes and splits
    (24, 2048, 16, 2048, 1, 1, 8, 4, 64), (32, 4096, 32, 4096, 8, 1, 1, 2, 16),
    (40, 5120, 40, 4096, 4, 2, 1, 1, 32), (32, 4096, 32, 32768, 8, 1, 1, 1, 4),
    (48, 6144, 48, 2048, 8, 2, 1, 2, 64), (28, 3072, 24, 8192, 2, 1, 4, 1, 32),
    (16, 1024, 16, 8192, 1, 1, 8, 2, 32), (80, 8192, 64, 4096, 8, 4, 1, 1, 64)]


def synthetic_rows(truth) -> str:
    """Rows whose 'measured' step time is the model's own prediction under ``truth``."""
    acc = load_accelerators()["Ascend-910B"]
    lines = [HEADER]
    for i, (L, h, a, s, tp, pp, dp, mb, b) in enumerate(SHAPES):
        sp = str(tp > 1).lower()
        cells = (f"s{i},synthetic {i % 3},m{i},{L},{h},{a},{a},{4 * h},{s},32000,{b},"
                 f"Ascend-910B,{tp * pp * dp},8,{tp},{pp},{dp},1,1,{mb},0,none,{sp},"
                 f"bf16,flash,")
        row = parse_runs(HEADER + cells + "1\n")[0]
        model, _ = row_model(row)
        p = predict(model, Cluster.of(acc, tp * pp * dp, 8), Parallelism(
            tp=tp, pp=pp, dp=dp, micro_batch=mb, sequence_parallel=tp > 1),
            global_batch_seqs=b, profile=truth)
        lines.append(cells + f"{p.step_time_s:.6f}\n")
    return "".join(lines)


@pytest.mark.slow
def test_fit_recovers_known_parameters_from_synthetic_runs():
    base = get_efficiency("Ascend-910B")
    truth = replace(base, gemm_max_fraction=0.55, elementwise_bytes_per_token_hidden=60.0,
                    attention_max_fraction=0.45, tp_overlap_fraction=0.3)
    rows = parse_runs(synthetic_rows(truth))
    accs = load_accelerators()
    fitted = calibrate.fit_all(rows, accs, lambda _n: base, iterations=80)["Ascend-910B"]
    assert fitted.gemm_max_fraction == pytest.approx(0.55, rel=0.03)
    assert fitted.attention_max_fraction == pytest.approx(0.45, rel=0.08)
    assert fitted.elementwise_bytes_per_token_hidden == pytest.approx(60.0, rel=0.15)
    rep = validate(rows, accs, lambda _n: fitted)
    assert rep.median_abs_error_pct() < 1.0


def test_fitted_fields_follow_the_rows_stack():
    base = get_efficiency("Ascend-910B")
    rows = parse_runs(synthetic_rows(base))
    assert calibrate._fit_fields(base, rows) == (
        "gemm_max_fraction", "elementwise_bytes_per_token_hidden", "attention_max_fraction",
        "tp_overlap_fraction")


def test_sources_of_one_stack_are_one_publication():
    rows = parse_runs(shared_data("published_runs.csv").read_text()
                      + "\n".join(shared_data("field_runs.csv").read_text().splitlines()[1:]))
    groups = {calibrate._source(r) for r in rows}
    bloom = {calibrate._source(r) for r in rows if r.id.startswith("bloom22")}
    nemo = {calibrate._source(r) for r in rows if r.id.startswith("fld2_nemo")}
    assert len(bloom) == 1 and len(nemo) == 1
    assert len(groups) == 9
    assert calibrate._source(RunRow(cells={"id": "x", "source": ""})) == "x"
