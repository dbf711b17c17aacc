"""`tapserver prov import`: PROV documents and ctapipe logs into the tables, idempotently, refusing bad documents
whole, and linking to ingested datasets."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from astropy.io.votable import parse as parse_votable
from lxml import etree
from prov.model import ProvDocument
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from tapserver.config import Settings
from tapserver.provenance.cli import add_arguments, main, run
from tapserver.provenance.formats import prov_document, prov_json_text
from tapserver.provenance.graph import TABLES, ProvGraph
from tapserver.provenance.importer import ImportFailed, import_file
from tapserver.provenance.mapping import Model
from tapserver.provenance.storage import Direction, WalkRequest, walk
from tests.provenance.conftest import TABLE_ORDER, clear, insert
from tests.provenance.graphs import DL3, PIPELINE
from tests.provenance.test_provsap import natural

HESS_FILE = Path(__file__).resolve().parents[3] / "shared/data/dl3/gammapy-data-hess-dl3-dr1/data" \
    / "hess_dl3_dr1_obs_id_020136.fits.gz"


@pytest.fixture()
def db(prov_engine: Engine) -> Iterator[Engine]:
    clear(prov_engine)
    yield prov_engine
    clear(prov_engine)


def history(engine: Engine, identifier: str, depth: int | None = None,
            direction: Direction = Direction.BACK) -> ProvGraph:
    with engine.connect() as conn:
        result = walk(conn, WalkRequest(ids=(identifier,), depth=depth, direction=direction), max_nodes=10_000)
    assert result.graph is not None, f"{identifier} not found"
    return result.graph


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f'SELECT count(*) FROM provenance."{t}"')).scalar_one() for t in TABLE_ORDER}


@pytest.mark.parametrize(("fmt", "suffix"), [("json", ".json"), ("provn", ".provn"), ("xml", ".xml")])
def test_exported_document_imports_into_the_same_rows(db: Engine, prov_settings: Settings, tmp_path: Path,
                                                      fmt: str, suffix: str) -> None:
    insert(db, PIPELINE)
    exported = history(db, DL3)
    path = tmp_path / f"history{suffix}"
    document = prov_document(exported, Model.IVOA)
    path.write_text(prov_json_text(exported, Model.IVOA) if fmt == "json" else str(document.serialize(format=fmt)))
    clear(db)
    result = import_file(path, prov_settings)
    assert result.report.changed
    assert natural(history(db, DL3)) == natural(exported)
    before = counts(db)
    again = import_file(path, prov_settings)
    assert not again.report.changed, again.report
    assert counts(db) == before


def test_dry_run_writes_nothing(db: Engine, prov_settings: Settings, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"prefix": {"a": "urn:a:"}, "entity": {"a:e": {"prov:label": "e"}}}))
    assert main(path, prov_settings, dry_run=True) == 0
    out = capsys.readouterr().out
    assert "would import" in out and "added 1 entity" in out
    assert sum(counts(db).values()) == 0
    assert main(path, prov_settings) == 0
    assert counts(db)["entity"] == 1


def test_command_line_imports_each_file_on_its_own(db: Engine, prov_settings: Settings, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps({"prefix": {"a": "urn:a:"}, "entity": {"a:e": {}}}))
    bad.write_text(json.dumps({"prefix": {"a": "urn:a:"}, "wasDerivedFrom": {
        "_:1": {"prov:generatedEntity": "a:e", "prov:usedEntity": "a:nowhere"}}}))
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert run(parser.parse_args([str(good), str(bad), "--format", "prov-json"]), prov_settings) == 1
    captured = capsys.readouterr()
    assert f"imported {good} (prov-json): added 1 entity" in captured.out
    assert "entity 'urn:a:nowhere' (referred to by wasderivedfrom.usedentity_id)" in captured.err
    assert counts(db)["entity"] == 1 and counts(db)["wasderivedfrom"] == 0


def test_import_links_to_archive_entities_by_id(db: Engine, prov_settings: Settings, tmp_path: Path) -> None:
    insert(db, {"entity": [{"id": DL3, "entity_class": "DatasetEntity", "name": "DL3 run 1"}]})
    path = tmp_path / "dl1.json"
    path.write_text(json.dumps({
        "prefix": {"cta": "https://example.org/cta/", "arch": "ivo://x/dl3?"},
        "entity": {"cta:dl1_run1": {"prov:label": "DL1 events", "prov:location": "file:///data/dl1/run1.h5"}},
        "activity": {"cta:dl1_to_dl3": {"prov:startTime": "2024-01-02T03:04:05+01:00"}},
        "used": {"_:u": {"prov:activity": "cta:dl1_to_dl3", "prov:entity": "cta:dl1_run1", "prov:role": "events"}},
        "wasDerivedFrom": {"_:d": {"prov:generatedEntity": "arch:obs_1", "prov:usedEntity": "cta:dl1_run1"}},
        "wasGeneratedBy": {"_:g": {"prov:entity": "arch:obs_1", "prov:activity": "cta:dl1_to_dl3",
                                   "prov:time": "2024-01-02T03:09:00"}},
    }))
    assert main(path, prov_settings) == 0
    graph = history(db, DL3, None)
    ids = {node.id for node in graph.nodes()}
    assert {"https://example.org/cta/dl1_run1", "https://example.org/cta/dl1_to_dl3"} <= ids
    dataset = next(r for r in graph.table("entity") if r["id"] == DL3)
    assert dataset["name"] == "DL3 run 1" and dataset["generatedattime"].isoformat() == "2024-01-02T03:09:00"
    activity = graph.table("activity")[0]
    assert activity["starttime"].isoformat() == "2024-01-02T02:04:05"  # stored as UTC


def test_match_by_checksum_keeps_one_generation(db: Engine, prov_settings: Settings, tmp_path: Path) -> None:
    insert(db, {"entity": [{"id": "ivo://x/dl3?obs_9", "entity_class": "DatasetEntity", "checksum": "sha256:ab"},
                           {"id": "file:///raw/obs_9.fits#sha256:cd", "entity_class": "DatasetEntity",
                            "checksum": "sha256:cd", "location": "/raw/obs_9.fits"}],
                "activity": [{"id": "ingest:1"}],
                "wasgeneratedby": [{"entity_id": "ivo://x/dl3?obs_9", "activity_id": "ingest:1"}]})
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps({
        "prefix": {"p": "urn:pipeline:", "tapserver": "urn:tapserver:provenance#"},
        "entity": {"p:dl3": {"tapserver:checksum": "sha256:ab"}, "p:raw": {"tapserver:checksum": "sha256:cd"}},
        "activity": {"p:run": {}},
        "wasGeneratedBy": {"_:1": {"prov:entity": "p:dl3", "prov:activity": "p:run"},
                           "_:2": {"prov:entity": "p:raw", "prov:activity": "p:run"}},
    }))
    result = import_file(path, prov_settings)
    # raw matched an ungenerated archive entity: merged; dl3 matched a dataset the ingest generated: kept apart
    assert result.report.linked == {"urn:pipeline:raw": "file:///raw/obs_9.fits#sha256:cd"}
    assert result.report.derived == [("ivo://x/dl3?obs_9", "urn:pipeline:dl3")]
    assert {"urn:pipeline:dl3", "urn:pipeline:run"} <= {n.id for n in history(db, "ivo://x/dl3?obs_9").nodes()}
    raw = history(db, "file:///raw/obs_9.fits#sha256:cd", 1)
    assert [r["activity_id"] for r in raw.table("wasgeneratedby")] == ["urn:pipeline:run"]
    assert import_file(path, prov_settings).report.changed is False


BAD_DOCUMENTS = [
    ({"prefix": {"a": "urn:a:"}, "used": {"_:1": {"prov:activity": "a:x", "prov:entity": "a:y"}}},
     "activity 'urn:a:x' (referred to by used.activity_id) is neither in the document nor in the archive"),
    ({"prefix": {"a": "urn:a:"}, "agent": {"a:x": {}, "a:y": {}}, "actedOnBehalfOf": {
        "_:1": {"prov:delegate": "a:x", "prov:responsible": "a:y"}}}, "delegation: no ProvTAP table holds it"),
    ({"prefix": {"a": "urn:a:"}, "entity": {"a:e": {}}, "activity": {"a:x": {}},
      "wasInfluencedBy": {"_:1": {"prov:influencee": "a:x", "prov:influencer": "a:e"}}}, "plain wasInfluencedBy"),
    ({"prefix": {"a": "urn:a:"}, "activity": {"a:x": {"prov:startTime": "yesterday"}}}, "a:x"),
    ({"prefix": {"a": "urn:a:"}, "agent": {"a:x": {"prov:type": {"$": "a:Robot", "type": "xsd:QName"}}}},
     "agent urn:a:x: agent type urn:a:Robot is not one of"),
    ({"prefix": {"a": "urn:a:", "voprov": "http://www.ivoa.net/documents/ProvenanceDM/index.html#"},
      "entity": {"a:p": {"prov:type": {"$": "voprov:Parameter", "type": "xsd:QName"}, "prov:value": "1"}}},
     "parameter urn:a:p: no wasInfluencedBy"),
    ({"prefix": {"a": "urn:a:"}, "entity": {"a:e": {}}, "activity": {"a:x": {}, "a:y": {}},
      "wasGeneratedBy": {"_:1": {"prov:entity": "a:e", "prov:activity": "a:x"},
                         "_:2": {"prov:entity": "a:e", "prov:activity": "a:y"}}}, "generated by two activities"),
    ({"prefix": {"a": "urn:a:"}, "bundle": {"a:b": {"entity": {"a:e": {}}}}}, "bundles are not supported"),
]


@pytest.mark.parametrize(("document", "message"), BAD_DOCUMENTS)
def test_bad_documents_are_refused_whole(db: Engine, prov_settings: Settings, tmp_path: Path,
                                         document: dict[str, Any], message: str) -> None:
    document = {**document, "entity": {**document.get("entity", {}), "a:fine": {"prov:label": "fine"}}}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ImportFailed, match=r"refused|not a valid") as failure:
        import_file(path, prov_settings)
    assert message in str(failure.value)
    assert sum(counts(db).values()) == 0


def test_generation_conflicting_with_the_archive_is_refused(
        db: Engine, prov_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    insert(db, PIPELINE)
    before = counts(db)
    path = tmp_path / "conflict.json"
    path.write_text(json.dumps({"prefix": {"x": "ivo://x/dl3?", "a": "urn:a:"}, "activity": {"a:other": {}},
                                "wasGeneratedBy": {"_:1": {"prov:entity": "x:obs_1", "prov:activity": "a:other"}}}))
    assert main(path, prov_settings) == 1
    assert "was generated by activity 'urn:x:act/dl3' in the archive" in capsys.readouterr().err
    assert counts(db) == before


def test_malformed_files_are_reported(db: Engine, prov_settings: Settings, tmp_path: Path) -> None:
    for name, content, message in [("a.json", "{not json", "not a valid PROV-JSON"),
                                   ("b.txt", "hello", "not a PROV-JSON, PROV-XML or PROV-N document"),
                                   ("c.provenance.log", "[1, 2]", "activity #1 is not an object")]:
        path = tmp_path / name
        path.write_text(content)
        with pytest.raises(ImportFailed, match=message):
            import_file(path, prov_settings)
    with pytest.raises(ImportFailed, match="cannot read"):
        import_file(tmp_path / "missing.json", prov_settings)


# ---------------------------------------------------------------------------------------------- ctapipe logs

def _system(version: str) -> dict[str, Any]:
    return {
        "ctapipe_version": version, "ctapipe_svc_path": None, "executable": "/opt/conda/bin/python3.11",
        "platform": {"architecture_bits": "64bit", "architecture_linkage": "ELF", "machine": "x86_64",
                     "processor": "x86_64", "node": "cp01.cta-observatory.org", "version": "#1 SMP",
                     "system": "Linux", "release": "5.14.0", "libcver": ["glibc", "2.34"], "n_cpus": 64,
                     "boot_time": "2024-01-01T00:00:00.000"},
        "python": {"version_string": "3.11.7 | packaged by conda-forge |", "version": ["3", "11", "7"],
                   "compiler": "GCC 12.3.0", "implementation": "CPython",
                   "packages": [{"name": "astropy", "version": "6.0.0"}, {"name": "ctapipe", "version": version},
                                {"name": "numpy", "version": "1.26.3"}, {"name": "tables", "version": "3.9.2"}]},
        "environment": {"CONDA_DEFAULT_ENV": "cta", "CONDA_PREFIX": "/opt/conda/envs/cta", "PATH": "/usr/bin",
                        "LD_LIBRARY_PATH": None, "USER": "cta", "HOME": "/home/cta", "SHELL": "/bin/bash"},
        "arguments": ["ctapipe-process", "--config", "process.yaml"], "start_time_utc": "2024-01-02T03:00:00.000",
    }


def _legacy_reference(product_id: str, created: str, description: str) -> dict[str, Any]:
    """Reference metadata as ctapipe's Reference.to_dict() writes it (legacy CTA keys)."""
    return {"CTA REFERENCE VERSION": "1", "CTA CONTACT NAME": "unknown", "CTA CONTACT EMAIL": "unknown@example.org",
            "CTA CONTACT ORGANIZATION": "CTAO", "CTA PRODUCT DESCRIPTION": description,
            "CTA PRODUCT CREATION TIME": created, "CTA PRODUCT ID": product_id, "CTA PRODUCT DATA CATEGORY": "Sim",
            "CTA PRODUCT DATA LEVELS": "DL1_IMAGES,DL1_PARAMETERS", "CTA PRODUCT DATA ASSOCIATION": "Subarray",
            "CTA PRODUCT DATA MODEL NAME": "ASWG", "CTA PRODUCT DATA MODEL VERSION": "v5.0.0",
            "CTA PRODUCT DATA MODEL URL": "", "CTA PRODUCT FORMAT": "hdf5", "CTA PROCESS TYPE": "Simulation",
            "CTA PROCESS SUBTYPE": "", "CTA PROCESS ID": "1234", "CTA ACTIVITY NAME": "ctapipe-process",
            "CTA ACTIVITY TYPE": "software", "CTA ACTIVITY ID": "", "CTA ACTIVITY START TIME": created,
            "CTA ACTIVITY STOP TIME": None, "CTA ACTIVITY SOFTWARE NAME": "ctapipe",
            "CTA ACTIVITY SOFTWARE VERSION": "0.19.2", "CTA INSTRUMENT SITE": "CTA-North",
            "CTA INSTRUMENT CLASS": "Subarray", "CTA INSTRUMENT TYPE": "unspecified",
            "CTA INSTRUMENT SUBTYPE": "unspecified", "CTA INSTRUMENT VERSION": "unspecified",
            "CTA INSTRUMENT ID": "unspecified"}


def _current_reference(product_id: str, created: str) -> dict[str, Any]:
    """Reference metadata as current ctapipe writes it (ctao_datamodel Product, model_dump(mode="json"))."""
    return {"ctao_metadata_version": "1.0", "description": "ctapipe Data Product", "creation_time": created,
            "instance": {"id": product_id, "category": "B", "site_id": "CTAO-North"},
            "contact": {"name": "DPPS", "email": "dpps@cta-observatory.org", "organization": "CTAO"},
            "activity": {"name": "ctapipe-apply-models", "software": {"name": "ctapipe", "version": "0.19.2"}}}


def _activity(name: str, activity_uuid: str, start: str, stop: str, inputs: list[dict[str, Any]],
              outputs: list[dict[str, Any]], config: dict[str, Any]) -> dict[str, Any]:
    return {"activity_name": name, "activity_uuid": activity_uuid, "status": "completed", "exit_code": 0,
            "start": {"time_utc": start}, "stop": {"time_utc": stop}, "system": _system("0.19.2"),
            "input": inputs, "output": outputs, "config": config, "duration_min": 1.5}


def ctapipe_log(dl3_path: Path) -> tuple[str, list[str]]:
    """A three-step log (DL0 -> DL1 -> DL2 -> DL3) as ctapipe appends it: one JSON list per tool run."""
    acts = [str(uuid.uuid4()) for _ in range(3)]
    dl1_id, dl2_id = str(uuid.uuid4()), str(uuid.uuid4())
    process = _activity(
        "ctapipe-process", acts[0], "2024-01-02T03:00:00.000", "2024-01-02T03:20:00.000",
        [{"url": "/data/cta/dl0/run1234.simtel.zst", "role": "DL0/Event", "reference_meta": None},
         {"url": "/data/cta/config/process.yaml", "role": "Tool Configuration", "reference_meta": None}],
        [{"url": "/data/cta/dl1/run1234.dl1.h5", "role": "DL1/Event",
          "reference_meta": _legacy_reference(dl1_id, "2024-01-02 03:19:59.000", "ctapipe DL1 file")}],
        {"ProcessorTool": {"progress_bar": False, "overwrite": True},
         "ImageQualityQuery": {"quality_criteria": [["enough_pixels", "np.count_nonzero(image) > 2"]]},
         "CameraCalibrator": {"image_extractor_type": "NeighborPeakWindowSum"},
         "ShowerProcessor": {"reconstructor_types": ["HillasReconstructor"]},
         "EventSource": {"max_events": None}, "TailcutsImageCleaner": {"picture_threshold_pe": 10.0}})
    apply = _activity(
        "ctapipe-apply-models", acts[1], "2024-01-02T04:00:00.000", "2024-01-02T04:05:00.000",
        [{"url": "/data/cta/dl1/run1234.dl1.h5", "role": "DL1/Event",
          "reference_meta": _legacy_reference(dl1_id, "2024-01-02 03:19:59.000", "ctapipe DL1 file")},
         {"url": "/data/cta/models/classifier.pkl", "role": "ParticleClassifier", "reference_meta": None}],
        [{"url": "/data/cta/dl2/run1234.dl2.h5", "role": "DL2/Event",
          "reference_meta": _current_reference(dl2_id, "2024-01-02T04:04:59.000")}],
        {"ApplyModels": {"chunk_size": 100000}, "GammaHadronCut": {"cut": {"value": 0.7, "unit": ""}},
         "EnergyRegressor": {"min_energy": {"value": 0.01, "unit": "TeV"}}})
    dl3 = _activity(
        "lstchain-create-dl3-file", acts[2], "2024-01-02T05:00:00.000", "2024-01-02T05:01:00.000",
        [{"url": "/data/cta/dl2/run1234.dl2.h5", "role": "DL2/Event",
          "reference_meta": _current_reference(dl2_id, "2024-01-02T04:04:59.000")},
         {"url": "/data/cta/irf/irf.fits.gz", "role": "IRF", "reference_meta": None}],
        [{"url": str(dl3_path), "role": "DL3/Event", "reference_meta": None}],
        {"DataReductionFITSWriter": {"overwrite": True, "source_name": "Crab"}})
    text_log = "".join(json.dumps([activity], indent=3) for activity in (process, apply, dl3))
    return text_log, acts


def parse_blocks(content: str) -> list[list[dict[str, Any]]]:
    decoder, position, blocks = json.JSONDecoder(), 0, []
    while position < len(content):
        block, position = decoder.raw_decode(content, position)
        blocks.append(block)
    return blocks


def ingest_hess_file(tmp_path: Path, settings: Settings) -> Path:
    """Ingest a copy of one H.E.S.S. DR1 file (in ``tmp_path/dl3``) with the real ingester; its path."""
    from ingest.config import load_config
    from ingest.pipeline import Options, ingest
    from ingest.progress import Reporter

    data = tmp_path / "dl3"
    data.mkdir()
    dl3_path = data / HESS_FILE.name
    shutil.copyfile(HESS_FILE, dl3_path)
    summary = ingest(Options(inputs=(str(data),), config=load_config(None, "hess-dr1"), jobs=1), settings,
                     Reporter(quiet=True, dry_run=False))
    assert summary.exit_code == 0, summary.counts
    return dl3_path


@pytest.mark.skipif(not HESS_FILE.exists(), reason="needs ../shared/data (H.E.S.S. DL3 DR1)")
def test_ctapipe_log_links_to_an_ingested_dataset(db: Engine, prov_settings: Settings, tmp_path: Path,
                                                  app_client: TestClient) -> None:
    dl3_path = ingest_hess_file(tmp_path, prov_settings)
    with db.connect() as conn:
        did = conn.execute(text("SELECT obs_publisher_did FROM ivoa.obscore")).scalar_one()

    content, acts = ctapipe_log(dl3_path)
    log = tmp_path / "ctapipe-process.provenance.log"
    log.write_text(content)
    result = import_file(log, prov_settings)
    assert result.kind == "ctapipe"
    assert list(result.report.linked) == [f"file://{dl3_path}"]  # matched the ingested file by checksum

    response = app_client.get("/provsap", params={"ID": did, "DEPTH": "ALL", "DIRECTION": "BACK"})
    assert response.status_code == 200, response.text
    body = response.json()
    activities = {body["prefix"][k.split(":")[0]] + k.split(":", 1)[1]: v for k, v in body["activity"].items()}
    for activity_uuid in acts:
        assert f"urn:uuid:{activity_uuid}" in activities
    assert activities[f"urn:uuid:{acts[0]}"]["prov:label"] == "ctapipe-process"

    # the ingested dataset's history in every format: the W3C ones parse back into one document, the
    # PROV-VOTable is a valid VOTable with one table per ProvTAP table, the SVG draws every node
    reference = ProvDocument.deserialize(content=response.text, format="json")
    for name, fmt in (("PROV-N", "provn"), ("PROV-XML", "xml")):
        other = app_client.get("/provsap", params={"ID": did, "DEPTH": "ALL", "RESPONSEFORMAT": name})
        assert ProvDocument.deserialize(content=other.text, format=fmt) == reference
    votable = app_client.get("/provsap", params={"ID": did, "DEPTH": "ALL", "RESPONSEFORMAT": "PROV-VOTABLE"})
    assert {t.name for t in parse_votable(io.BytesIO(votable.content)).iter_tables()} == set(TABLES)
    svg = etree.fromstring(app_client.get("/provsap", params={"ID": did, "DEPTH": "ALL",
                                                              "RESPONSEFORMAT": "PROV-SVG"}).content)
    drawn = {g.get("data-id") for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("data-id")}
    assert {f"urn:uuid:{a}" for a in acts} | {did} <= drawn

    graph = history(db, did)
    parameters = {(r["activity_id"], r["name"]): r["value"] for r in graph.table("parameter")}
    assert parameters[(f"urn:uuid:{acts[0]}", "TailcutsImageCleaner.picture_threshold_pe")] == "10.0"
    assert parameters[(f"urn:uuid:{acts[1]}", "EnergyRegressor.min_energy")] == "0.01 TeV"
    assert parameters[(f"urn:uuid:{acts[0]}", "EventSource.max_events")] == "null"
    assert [r["location"] for r in graph.table("configfile")] == ["/data/cta/config/process.yaml"]
    entities = {r["id"]: r for r in graph.table("entity")}
    dl1 = next(r for r in entities.values() if r["location"] == "/data/cta/dl1/run1234.dl1.h5")
    assert dl1["id"].startswith("urn:uuid:") and dl1["generatedattime"].isoformat() == "2024-01-02T03:19:59"
    assert {r["name"] for r in graph.table("agent")} >= {"ctapipe 0.19.2", "CTAO"}
    system = next(r for r in entities.values() if r["entity_class"] == "ValueEntity")
    assert json.loads(system["value"])["ctapipe_version"] == "0.19.2"
    assert {r["type"] for r in graph.table("usagedescription")} == {"Context"}

    before = counts(db)
    assert not import_file(log, prov_settings).report.changed
    assert counts(db) == before
    forth = history(db, "file:///data/cta/dl0/run1234.simtel.zst", None, Direction.FORTH)
    assert did in {node.id for node in forth.nodes()}


def test_a_broken_ctapipe_log_is_refused_whole(db: Engine, prov_settings: Settings, tmp_path: Path) -> None:
    content, _acts = ctapipe_log(tmp_path / "missing.fits")
    broken = [activity for block in parse_blocks(content) for activity in block]
    assert len(broken) == 3
    broken[2]["output"][0].pop("url")
    path = tmp_path / "tool.provenance.log"
    path.write_text(json.dumps(broken))
    with pytest.raises(ImportFailed, match=r"activity #3 \(lstchain-create-dl3-file\): output #1 has no url"):
        import_file(path, prov_settings)
    broken[0]["activity_uuid"] = "not-a-uuid"
    path.write_text(json.dumps(broken))
    with pytest.raises(ImportFailed, match=r"activity #1 .*is not a UUID"):
        import_file(path, prov_settings)
    assert sum(counts(db).values()) == 0


@pytest.mark.skipif(not HESS_FILE.exists(), reason="needs ../shared/data (H.E.S.S. DL3 DR1)")
@pytest.mark.parametrize("form", ["path", "file-uri"])
def test_a_server_path_without_checksum_links_to_the_ingested_file(db: Engine, prov_settings: Settings,
                                                                   tmp_path: Path, form: str) -> None:
    """The ingester locates files relative to the data roots; an imported document that names an ingested file
    by its server path (and no checksum) is still linked to that file's entity, not only to its dataset."""
    dl3_path = ingest_hess_file(tmp_path, prov_settings)
    location = str(dl3_path) if form == "path" else f"file://{dl3_path}"
    document = tmp_path / "spectrum.json"
    document.write_text(json.dumps({
        "prefix": {"ex": "https://example.org/analysis/"},
        "entity": {"ex:dl3": {"prov:location": location}, "ex:spectrum": {"prov:label": "Crab spectrum"}},
        "wasDerivedFrom": {"_:d": {"prov:generatedEntity": "ex:spectrum", "prov:usedEntity": "ex:dl3"}},
    }))
    result = import_file(document, prov_settings)
    [linked] = result.report.linked.values()
    assert linked.startswith("urn:tapserver:file:") and linked.endswith(HESS_FILE.name + "#sha256:" +
                                                                         sha256_hex(dl3_path))


def sha256_hex(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
