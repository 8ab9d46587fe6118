"""Reading datasets: every format, column mapping, and one clear error for each kind of bad file."""

from __future__ import annotations

import json

import pytest
from helpers import write_jsonl

from rageval.config import DatasetConfig
from rageval.data import DataSource
from rageval.errors import DataError

ROWS = [
    {"id": "a", "hyp": "the cat", "refs": ["the cat"], "lang": "en"},
    {"id": "b", "hyp": "a dog", "refs": ["the dog", "a dog"], "lang": "de"},
    {"id": "c", "hyp": "", "refs": ["nothing"], "lang": "en"},
]


def source(path, **options):
    return DataSource.open(DatasetConfig(path=str(path), **options), path.parent if path.is_absolute() else None)


def ids_and_rows(src):
    return [(sample_id, row) for sample_id, row in src.rows()]


def test_jsonl_rows_ids_and_columns(tmp_path):
    src = source(write_jsonl(tmp_path / "d.jsonl", ROWS), id_column="id")
    scan = src.scan()
    assert scan.columns == ["id", "hyp", "refs", "lang"] and scan.n_rows == 3
    assert [i for i, _ in ids_and_rows(src)] == ["a", "b", "c"]


def test_row_index_is_the_default_id_and_limit_applies(tmp_path):
    src = source(write_jsonl(tmp_path / "d.jsonl", ROWS), limit=2)
    assert [i for i, _ in ids_and_rows(src)] == [0, 1]
    assert src.scan().n_rows == 2


def test_samples_map_canonical_fields_and_keep_metadata(tmp_path):
    src = source(write_jsonl(tmp_path / "d.jsonl", ROWS), id_column="id")
    (batch,) = list(src.batches(10, {"prediction": "hyp", "references": "refs"}))
    assert batch[1].prediction == "a dog" and batch[1].references == ["the dog", "a dog"]
    assert batch[1].metadata == {"id": "b", "lang": "de"}


def test_a_column_of_strings_as_references_means_one_reference_each(tmp_path):
    rows = [{"hyp": "x", "ref": "y"}]
    src = source(write_jsonl(tmp_path / "d.jsonl", rows))
    (batch,) = list(src.batches(10, {"prediction": "hyp", "references": "ref"}))
    assert batch[0].references == ["y"]


def test_json_array_csv_tsv_parquet_gzip_and_saved_dataset_read_the_same_rows(tmp_path):
    flat = [{"id": r["id"], "hyp": r["hyp"], "lang": r["lang"]} for r in ROWS]
    (tmp_path / "d.json").write_text(json.dumps(flat))
    (tmp_path / "d.csv").write_text("id,hyp,lang\n" + "".join(f"{r['id']},{r['hyp']},{r['lang']}\n" for r in flat))
    (tmp_path / "d.tsv").write_text("id\thyp\tlang\n" + "".join(f"{r['id']}\t{r['hyp']}\t{r['lang']}\n" for r in flat))
    import gzip

    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    with gzip.open(tmp_path / "d.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in flat)
    pq.write_table(pa.Table.from_pylist(flat), tmp_path / "d.parquet")
    datasets.Dataset.from_list(flat).save_to_disk(str(tmp_path / "saved"))
    datasets.DatasetDict({"test": datasets.Dataset.from_list(flat)}).save_to_disk(str(tmp_path / "saved_dict"))
    for name in ["d.json", "d.csv", "d.tsv", "d.jsonl.gz", "d.parquet", "saved", "saved_dict"]:
        assert [row for _, row in ids_and_rows(source(tmp_path / name, id_column="id"))] == flat, name


def test_saved_dataset_dict_with_several_splits_needs_a_split(tmp_path):
    import datasets

    d = datasets.Dataset.from_list([{"x": 1}])
    datasets.DatasetDict({"train": d, "test": d}).save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(DataError, match=r"has splits \['train', 'test'\]: set dataset.split"):
        source(tmp_path / "dd").scan()
    assert source(tmp_path / "dd", split="test").scan().n_rows == 1


def test_broken_json_line_names_file_and_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"a": 1}\n{"a": 2\n{"a": 3}\n')
    with pytest.raises(DataError, match=r"d.jsonl: line 2: invalid JSON"):
        source(path).scan()


def test_json_line_that_is_not_an_object(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(DataError, match=r"line 2: expected an object of columns, got list"):
        source(path).scan()


def test_csv_row_with_wrong_field_count_names_the_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(DataError, match=r"d.csv: line 3: 3 fields where the header has 2"):
        source(path).scan()


def test_unreadable_csv_names_the_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('a,b\n1,"unterminated\n')
    with pytest.raises(DataError, match=r"d.csv: line \d+: unreadable CSV"):
        source(path).scan()


def test_non_utf8_file(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"a": "ok"}\n{"a": "\xff\xfe"}\n')
    with pytest.raises(DataError, match="not UTF-8"):
        source(path).scan()


def test_duplicate_ids_name_one(tmp_path):
    rows = [{"id": "x"}, {"id": "y"}, {"id": "x"}]
    with pytest.raises(DataError, match="duplicate id 'x' in column 'id'"):
        source(write_jsonl(tmp_path / "d.jsonl", rows), id_column="id").scan()


@pytest.mark.parametrize(("value", "kind"), [(None, "None"), (1.5, "1.5"), ([1], r"\[1\]")])
def test_ids_must_be_strings_or_integers(tmp_path, value, kind):
    rows = [{"id": "x"}, {"id": value}]
    with pytest.raises(DataError, match=rf"line 2: id {kind} in column 'id' must be a string or an integer"):
        source(write_jsonl(tmp_path / "d.jsonl", rows), id_column="id").scan()


def test_missing_id_column(tmp_path):
    with pytest.raises(DataError, match="no id column 'uid'"):
        source(write_jsonl(tmp_path / "d.jsonl", ROWS), id_column="uid").scan()


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match=r"dataset.path: file not found: .*missing.jsonl"):
        source(tmp_path / "missing.jsonl")


def test_unknown_extension(tmp_path):
    path = tmp_path / "d.xlsx"
    path.write_text("x")
    with pytest.raises(DataError, match="cannot tell the format"):
        source(path)


def test_hub_id_offline_fails_up_front(tmp_path):
    with pytest.raises(DataError, match="'org/some-dataset' is not a local file.*HF_HUB_OFFLINE"):
        DataSource.open(DatasetConfig(path="org/some-dataset", split="test"), tmp_path)


def test_empty_dataset(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n")
    with pytest.raises(DataError, match="the dataset has no rows"):
        source(path).scan()
