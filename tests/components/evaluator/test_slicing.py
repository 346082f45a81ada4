"""Slice specs, and whole-batch grouping of rows by slice key against a per-row loop."""

import itertools

import numpy as np
import pytest
from apache_beam.pvalue import TaggedOutput

from tfx_heads.components.evaluator.bootstrap import PoissonCounts
from tfx_heads.components.evaluator.rows import RaggedColumn
from tfx_heads.components.evaluator.slicing import (
    GROUPS_TAG,
    SliceBatches,
    SliceSpec,
    slice_rows,
    slice_specs,
)


def _column(rows, dtype=None):
    values = [v for row in rows for v in row]
    array = np.array(values, dtype=dtype) if values else np.zeros(0, dtype or np.int64)
    return RaggedColumn(array, np.r_[0, np.cumsum([len(r) for r in rows])].astype(np.int64))


def _brute_force(spec, rows_by_feature, size):
    groups = {}
    for row in range(size):
        choices = [sorted(set(rows_by_feature[f][row])) for f in spec.features]
        for combination in itertools.product(*choices):
            key = tuple(zip(spec.features, combination, strict=True))
            groups.setdefault(key, []).append(row)
    return groups


def test_specs_parse_sort_and_deduplicate():
    specs = slice_specs(["b,a", "c", ("a", "b"), SliceSpec(("c",))])
    assert [s.features for s in specs] == [(), ("a", "b"), ("c",)]
    with pytest.raises(ValueError, match="Invalid `slice`"):
        SliceSpec.parse("a,,b")
    with pytest.raises(ValueError, match="distinct non-empty"):
        SliceSpec(("a", "a"))


def test_grouping_matches_a_per_row_loop():
    rng = np.random.default_rng(0)
    size = 300
    rows = {
        "s": [
            [rng.choice([b"x", b"y", b"\xff"])] if rng.random() < 0.9 else [] for _ in range(size)
        ],
        "i": [[int(v)] for v in rng.integers(0, 4, size)],
        "m": [list(rng.choice([1.5, 2.5, 3.5], rng.integers(0, 4))) for _ in range(size)],
    }
    columns = {
        "s": _column(rows["s"], object),
        "i": _column(rows["i"]),
        "m": _column(rows["m"], np.float32),
    }
    for spec in slice_specs(["s", "i", "m", "i,s", "m,s,i"])[1:]:
        expected = _brute_force(spec, rows, size)
        found = {key: rows_.tolist() for key, rows_ in slice_rows(spec, columns, size)}
        expected = {
            tuple((f, bytes(v).decode("utf-8", "backslashreplace") if isinstance(v, bytes) else v)
                  for f, v in key): value
            for key, value in expected.items()
        }  # fmt: skip
        assert found == expected, spec
    assert slice_rows(SliceSpec(), columns, size) == [((), None)]
    assert slice_rows(SliceSpec(), columns, 0) == []


def test_a_batch_without_the_feature_has_no_slice_of_it():
    """No row holds `f` (every example lacks the feature): no slice, no error; a cross with
    a feature some rows hold has none either."""
    columns = {"f": _column([[], [], []], object), "g": _column([[1], [], [2]])}
    assert slice_rows(SliceSpec(("f",)), columns, 3) == []
    assert slice_rows(SliceSpec(("f", "g")), columns, 3) == []
    assert [key for key, _ in slice_rows(SliceSpec(("g",)), columns, 3)] == [
        (("g", 1),),
        (("g", 2),),
    ]


def test_slice_batches_emit_row_subsets_and_replicate_weights():
    class Prepared:
        file = "f"
        record_index = np.array([4, 5, 6])
        stats_batch = {"labels": np.array([1, 0, 1]), "logits": np.array([[0.1], [0.2], [0.3]])}
        slice_columns = {"g": _column([[1], [2], [1]])}

    stage = SliceBatches(slice_specs(["g"]), PoissonCounts(4, seed=1))
    out = dict(_run_bundle(stage, Prepared()))
    assert set(out) == {(), (("g", 1),), (("g", 2),)}
    np.testing.assert_array_equal(out[(("g", 1),)].batch["labels"], [1, 1])
    np.testing.assert_array_equal(
        out[(("g", 1),)].replicate_weights, out[()].replicate_weights[[0, 2]]
    )


def test_fixed_values_keep_only_their_slices_and_a_slice_is_emitted_once():
    columns = {"day": _column([[1], [2], [1], [3]]), "hour": _column([[5], [5], [6], [5]])}
    fixed = SliceSpec(("hour",), {"day": "1"})
    assert fixed.features == ("day", "hour")
    assert [(key, rows.tolist()) for key, rows in slice_rows(fixed, columns, 4)] == [
        ((("day", 1), ("hour", 5)), [0]),
        ((("day", 1), ("hour", 6)), [2]),
    ]
    assert [key for key, _ in slice_rows(SliceSpec((), {"day": "2"}), columns, 4)] == [
        (("day", 2),)
    ]

    class Prepared:
        file = "f"
        record_index = np.arange(4)
        stats_batch = {"labels": np.array([1, 0, 1, 0])}
        slice_columns = columns

    # `day` and the fixed `day:2` share the slice day=2: it is emitted (and counted) once.
    specs = slice_specs(["day", SliceSpec((), {"day": "2"})])
    keys = [key for key, _ in _run_bundle(SliceBatches(specs), Prepared())]
    assert sorted(keys) == [(), (("day", 1),), (("day", 2),), (("day", 3),)]


def _run_bundle(stage, *batches):
    """The `(key, SliceBatch)` pairs a bundle of `batches` yields, as a runner runs it."""
    stage.start_bundle()
    out = [item for batch in batches for item in stage.process(batch)]
    finished = list(stage.finish_bundle())
    return out + [
        TaggedOutput(item.tag, item.value.value) if isinstance(item, TaggedOutput) else item.value
        for item in finished
    ]


class _Prepared:
    def __init__(self, file, rows, first_label):
        self.file = file
        self.rows = rows
        self.record_index = np.arange(len(rows))
        self.stats_batch = {"labels": first_label + np.arange(len(rows))}
        self.slice_columns = {"g": _column(rows, object)}


def test_held_batches_are_cut_together_one_element_per_slice():
    """Three batches of a bundle (rows without `g`, with two values) are cut together: one
    element per slice, holding its rows of every batch in order, with their bootstrap
    weights; with nothing held each batch is cut as it arrives."""
    batches = [
        _Prepared("a", [[b"x"], [], [b"y", b"x"]], first_label=0),
        _Prepared("b", [[b"y"], [b"x"]], first_label=10),
        _Prepared("a2", [[], [b"x"], [b"z"], [b"y"]], first_label=20),
    ]
    expected = {}
    for batch in batches:
        for row, values in enumerate(batch.rows):
            for value in values:
                expected.setdefault((("g", value.decode()),), []).append(
                    batch.stats_batch["labels"][row]
                )
    poisson = PoissonCounts(3, seed=2)
    held = _run_bundle(SliceBatches(slice_specs(["g"]), poisson), *batches)
    assert [key for key, _ in held] == [(), *sorted(expected)]
    for key, item in held[1:]:
        np.testing.assert_array_equal(item.batch["labels"], expected[key])
    all_weights = np.concatenate([poisson(b.file, b.record_index) for b in batches])
    np.testing.assert_array_equal(held[0][1].replicate_weights, all_weights)
    # y: row 2 of a, row 0 of b, row 3 of a2 (rows 2, 3 and 8 of the joined batches).
    np.testing.assert_array_equal(held[2][1].replicate_weights, all_weights[[2, 3, 8]])

    stage = SliceBatches(slice_specs(["g"]), held_bytes=1)
    stage.start_bundle()
    first = list(stage.process(batches[0]))
    assert [key for key, _ in first] == [(), (("g", "x"),), (("g", "y"),)]
    assert list(stage.finish_bundle()) == []


def test_grouped_slices_hold_the_rows_of_their_slices():
    """With `group_of`, the slicings' slices leave as `(group, SliceGroupBatch)` in the
    output tagged `GROUPS_TAG`, each group holding the rows of each of its slices, in order;
    the overall slice as before."""
    batches = [
        _Prepared("a", [[b"x"], [], [b"y", b"x"]], first_label=0),
        _Prepared("b", [[b"y"], [b"x"], [b"z"]], first_label=10),
    ]
    plain = dict(_run_bundle(SliceBatches(slice_specs(["g"])), *batches))
    group = {"x": 1, "y": 0, "z": 1}
    stage = SliceBatches(slice_specs(["g"]), group_of=lambda key: group[key[0][1]])
    out = _run_bundle(stage, *batches)
    assert len(out) == 3 and out[0][0] == ()
    np.testing.assert_array_equal(out[0][1].batch["labels"], plain[()].batch["labels"])
    tagged = {item.value[0]: item.value[1] for item in out[1:] if item.tag == GROUPS_TAG}
    assert sorted(tagged) == [0, 1]
    assert tagged[0].slice_keys == ((("g", "y"),),)
    assert tagged[1].slice_keys == ((("g", "x"),), (("g", "z"),))
    for item in tagged.values():
        for position, key in enumerate(item.slice_keys):
            rows = item.slice_ids == position
            np.testing.assert_array_equal(item.batch["labels"][rows], plain[key].batch["labels"])


def test_bytes_values_group_as_python_compares_them_trailing_nul_bytes_included():
    """Bytes features are coded as fixed-width arrays (sorted by memcmp) unless a value
    ends with NUL bytes, which fixed width would drop; the groups and their order are
    Python's either way."""
    for values in (
        [b"b", b"a", b"ab", b"", b"a", b"\xff", b"b"],
        [b"a", b"a\x00", b"a", b"a\x00\x00", b""],
    ):
        column = _column([[value] for value in values], object)
        found = slice_rows(SliceSpec(("f",)), {"f": column}, len(values))
        expected = _brute_force(SliceSpec(("f",)), {"f": [[v] for v in values]}, len(values))
        in_byte_order = [
            ((("f", key[0][1].decode("utf-8", errors="backslashreplace")),), rows)
            for key, rows in sorted(expected.items())
        ]
        assert [(key, rows.tolist()) for key, rows in found] == in_byte_order
