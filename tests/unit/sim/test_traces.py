"""Trace loaders: the shipped traces parse; malformed rows give ConfigErrors with line numbers."""

from __future__ import annotations

import numpy as np
import pytest

from suanwang.core.errors import ConfigError
from suanwang.sim.traces import load_trace
from suanwang.sim.traces.alibaba2023 import load_alibaba_nodes
from suanwang.sim.traces.synthetic import synthetic_llm
from tests.conftest import shared_data

DIRLAB_HEADER = "u_id,user,gpu_num,cpu_num,node_num,interval,run_time,wall_time,new_status\n"
ALI_HEADER = ("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
              "creation_time,deletion_time,scheduled_time\n")


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_dirlab_parses_and_accumulates_intervals(tmp_path):
    p = write(tmp_path, "t.csv", DIRLAB_HEADER + "0,1,8,1,1,0,100,0,Pass\n"
              "1,2,0,1,1,50,10,0,Failed\n")
    w = load_trace(p, "dirlab")
    assert w.submit_s.tolist() == [0.0, 50.0] and w.num_devices.tolist() == [8, 0]
    assert w.users == ["1", "2"] and w.requested_s is None


@pytest.mark.parametrize("row,field", [("1,2,eight,1,1,5,10,0,Pass", "gpu_num"),
                                       ("1,2,8,1,1,-5,10,0,Pass", "interval"),
                                       ("1,2,8,1,1,5,10", None)])
def test_dirlab_malformed_row_names_line(tmp_path, row, field):
    p = write(tmp_path, "t.csv", DIRLAB_HEADER + "0,1,8,1,1,0,100,0,Pass\n" + row + "\n")
    with pytest.raises(ConfigError) as err:
        load_trace(p, "dirlab")
    assert err.value.line == 3 and err.value.field == field
    assert "t.csv:3" in str(err.value)


def test_missing_column_and_file(tmp_path):
    p = write(tmp_path, "t.csv", "user,gpu_num\n1,2\n")
    with pytest.raises(ConfigError, match="missing column"):
        load_trace(p, "dirlab")
    with pytest.raises(ConfigError, match="not found"):
        load_trace(tmp_path / "nope.csv", "dirlab")
    with pytest.raises(ConfigError, match="unknown trace format"):
        load_trace(p, "csv")


def test_alibaba_constraints_and_errors(tmp_path):
    p = write(tmp_path, "a.csv", ALI_HEADER + "p0,1,1,1,1000,T4|P100,LS,Running,0,100,10\n"
              "p1,1,1,1,500,,BE,Pending,5,9,\n"
              "p2,1,1,2,1000,,BE,Failed,7,50,8\n")
    w = load_trace(p, "alibaba2023")
    assert len(w) == 2 and w.runtime_s.tolist() == [90.0, 42.0]
    assert w.constraints[w.constraint[0]] == frozenset({"T4", "P100"}) and w.constraint[1] == -1
    bad = write(tmp_path, "b.csv", ALI_HEADER + "p0,1,1,1,1000,,LS,Running,0,5,10\n")
    with pytest.raises(ConfigError) as err:
        load_trace(bad, "alibaba2023")
    assert err.value.line == 2


def test_swf_parses_and_reports_bad_lines(tmp_path):
    good = "; comment\n1 0 5 100 4 -1 -1 4 200 -1 1 7 3 -1 -1 -1 -1 -1\n" \
           "2 10 5 -1 4 -1 -1 4 200 -1 0 7 3 -1 -1 -1 -1 -1\n"
    w = load_trace(write(tmp_path, "t.swf", good), "swf")
    assert len(w) == 1 and w.requested_s.tolist() == [200.0] and w.users == ["7"]
    with pytest.raises(ConfigError) as err:
        load_trace(write(tmp_path, "u.swf", good + "3 x 5 100 4\n"), "swf")
    assert err.value.line == 4
    with pytest.raises(ConfigError) as err:
        load_trace(write(tmp_path, "v.swf", good + "3 20 5 100 4 -1 -1 4 oops -1 1 7 3 -1 -1 "
                         "-1 -1 -1\n"), "swf")
    assert err.value.line == 4 and err.value.field == "requested_time"


def test_synthetic_is_seeded_and_loaded_as_asked():
    a = synthetic_llm(5000, 1000, load=0.8, seed=1)
    b = synthetic_llm(5000, 1000, load=0.8, seed=1)
    assert np.array_equal(a.runtime_s, b.runtime_s)
    offered = a.device_seconds / (a.submit_s[-1] * 1000)
    assert 0.6 < offered < 1.0
    assert a.num_devices.max() <= 1000 and np.all(np.diff(a.submit_s) >= 0)


def test_shipped_traces_parse():
    w = load_trace(shared_data("traces", "helios_15k.csv"), "dirlab")
    assert len(w) == 15000 and w.num_devices.max() == 160
    a = load_trace(shared_data("traces", "alibaba2023_pods_gpuspec33.csv"), "alibaba2023")
    assert 7000 < len(a) < 8152 and a.constraints
    nodes = load_alibaba_nodes(shared_data("traces", "alibaba2023_gpu_nodes.csv"))
    assert nodes.devices == 6212


@pytest.mark.parametrize("row,field", [("1,2,8,1,1,5,inf,0,Pass", "run_time"),
                                       ("1,2,8,1,1,nan,10,0,Pass", "interval"),
                                       ("1,2,8,1,1,5,10,-inf,Pass", "wall_time"),
                                       ("1,2,2.5,1,1,5,10,0,Pass", "gpu_num")])
def test_dirlab_rejects_non_finite_and_fractional_counts(tmp_path, row, field):
    p = write(tmp_path, "t.csv", DIRLAB_HEADER + "0,1,8,1,1,0,100,0,Pass\n" + row + "\n")
    with pytest.raises(ConfigError) as err:
        load_trace(p, "dirlab")
    assert err.value.line == 3 and err.value.field == field
    assert "t.csv" in str(err.value)


@pytest.mark.parametrize("fields,field", [("3 20 5 inf 4", "run_time"),
                                          ("3 20 5 100 2.5", "allocated_processors"),
                                          ("3 nan 5 100 4", "submit_time")])
def test_swf_rejects_non_finite_and_fractional_processors(tmp_path, fields, field):
    good = "1 0 5 100 4 -1 -1 4 200 -1 1 7 3 -1 -1 -1 -1 -1\n"
    line = fields + " -1 -1 4 200 -1 1 7 3 -1 -1 -1 -1 -1\n"
    with pytest.raises(ConfigError) as err:
        load_trace(write(tmp_path, "t.swf", good + line), "swf")
    assert err.value.line == 2 and err.value.field == field
    # A whole number written as a float is still a count.
    w = load_trace(write(tmp_path, "f.swf", good.replace(" 4 -1 -1 4", " 4.0 -1 -1 4")), "swf")
    assert w.num_devices.tolist() == [4]
