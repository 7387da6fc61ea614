"""`python -m retrieval check [--repair]`: drift made by deleting from Chroma directly is reported, then repaired."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrieval.__main__ import main
from retrieval.vector import VectorIndex
from tests.retrieval_support import HUAIBEI, LUOYANG, ROOT, settings_for, store_documents


def test_check_reports_and_repairs_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index = tmp_path / "index"
    settings = settings_for(index)
    ids = store_documents(settings)
    vector = VectorIndex(settings)
    vector.index_documents(list(ids.values()))
    assert main(["check", "--index", str(index)]) == 0
    assert capsys.readouterr().out.strip().endswith("in sync")

    # drift: one document gone from Chroma, part of another, and vectors of a document SQL never had
    vector.collection.delete(where={"doc_id": ids[LUOYANG]})
    some = vector.item_ids(ids[HUAIBEI])[:7]
    vector.collection.delete(ids=some)
    ghost = "feedfacefeedface"
    vector.collection.upsert(ids=[f"{ghost}:c:0"], embeddings=np.eye(1, 512, dtype=np.float32),
                             documents=["x"], metadatas=[{"doc_id": ghost, "kind": "chunk", "page": 1,
                                                          "table": -1, "row": -1}])

    assert main(["check", "--index", str(index)]) == 1
    out = capsys.readouterr().out
    assert f"missing in Chroma     {ids[LUOYANG]} {LUOYANG}" in out
    assert f"incomplete in Chroma  {ids[HUAIBEI]} {HUAIBEI}" in out
    assert f"extra in Chroma       {ghost}" in out
    assert out.strip().endswith("drift: 1 missing, 1 extra, 1 incomplete")
    assert vector.item_ids(ids[LUOYANG]) == []  # reporting does not repair

    assert main(["check", "--index", str(index), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["missing"] == [ids[LUOYANG]] and report["extra"] == [ghost]
    sql, chroma = report["counts"][ids[HUAIBEI]]["sql"], report["counts"][ids[HUAIBEI]]["chroma"]
    assert sql - chroma == len(some)

    assert main(["check", "--index", str(index), "--repair"]) == 0
    out = capsys.readouterr().out
    assert "after repair: in sync" in out
    assert vector.doc_ids() == set(ids.values())

    done = subprocess.run([sys.executable, "-m", "retrieval", "check", "--index", str(index), "--verbose"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("ok     ") == 2 and done.stdout.strip().endswith("in sync")


def test_search_command_prints_hits(tmp_path: Path) -> None:
    index = tmp_path / "index"
    store_documents(settings_for(index))
    done = subprocess.run([sys.executable, "-m", "retrieval", "search", "代管资金余额", "--index", str(index),
                           "--doc", HUAIBEI, "-k", "3"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "代管资金余额为30684元" in done.stdout and HUAIBEI in done.stdout
    assert "synced" in done.stderr  # the first search indexed the documents the store already had
    done = subprocess.run([sys.executable, "-m", "retrieval", "search", "x", "--index", str(index), "--doc", "nope"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 1 and "no such document" in done.stderr
