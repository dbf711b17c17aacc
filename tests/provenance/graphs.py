"""Test graphs: a CTA-like processing chain of 5 levels with branches, shortcuts, agents and collections."""

from __future__ import annotations

from typing import Any

from tests.provenance.conftest import t

PIPELINE: dict[str, list[dict[str, Any]]] = {
    "activitydescription": [
        {"id": "urn:x:desc/apply-models", "name": "ctapipe-apply-models", "version": "0.19.2",
         "type": "Reconstruction"},
        {"id": "urn:x:desc/process", "name": "ctapipe-process", "version": "0.19.2", "type": "Calibration"},
    ],
    "entitydescription": [
        {"id": "urn:x:desc/dl3", "name": "CTAO DL3", "content_type": "application/fits", "type": "DL3"},
    ],
    "generationdescription": [
        {"id": "urn:x:desc/apply-models#dl3", "activitydescription_id": "urn:x:desc/apply-models",
         "role": "dl3", "type": "Main", "entitydescription_id": "urn:x:desc/dl3"},
    ],
    "usagedescription": [
        {"id": "urn:x:desc/apply-models#events", "activitydescription_id": "urn:x:desc/apply-models",
         "role": "events", "type": "Main"},
    ],
    "parameterdescription": [
        {"id": "urn:x:desc/apply-models#cut", "activitydescription_id": "urn:x:desc/apply-models",
         "name": "gammaness_cut", "value_type": "double", "min": "0", "max": "1"},
    ],
    "agent": [
        {"id": "urn:x:agent/dpps", "name": "CTAO DPPS", "type": "Organization", "email": "dpps@example.org"},
        {"id": "urn:x:agent/ctapipe", "name": "ctapipe 0.19.2", "type": "SoftwareAgent"},
    ],
    "entity": [
        {"id": "ivo://x/dl3?obs_1", "name": "DL3 run 1", "entity_class": "DatasetEntity",
         "location": "/data/dl3/obs_1.fits.gz", "generatedattime": t("2024-01-02T03:09:00"),
         "entitydescription_id": "urn:x:desc/dl3", "content_type": "application/fits",
         "checksum": "sha256:00aa"},
        {"id": "urn:x:dl2/run1", "name": "DL2 run 1", "entity_class": "DatasetEntity"},
        {"id": "urn:x:model/gh", "name": "gamma/hadron model", "entity_class": "DatasetEntity"},
        {"id": "urn:x:dl1/run1-tel1", "name": "DL1 tel 1", "entity_class": "DatasetEntity"},
        {"id": "urn:x:dl1/run1-tel2", "name": "DL1 tel 2", "entity_class": "DatasetEntity",
         "invalidatedattime": t("2025-01-01T00:00:00")},
        {"id": "urn:x:r0/run1-tel1", "name": "R0 tel 1", "entity_class": "DatasetEntity"},
        {"id": "urn:x:r0/run1-tel2", "name": "R0 tel 2", "entity_class": "DatasetEntity"},
        {"id": "urn:x:mc/train", "name": "MC training sample", "entity_class": "DatasetEntity"},
        {"id": "urn:x:value/cut", "name": "cut", "entity_class": "ValueEntity", "value": "0.7"},
        {"id": "urn:x:collection/release1", "name": "release 1", "entity_class": "Collection"},
        {"id": "ivo://x/dl3?obs_2", "name": "DL3 run 2", "entity_class": "DatasetEntity"},
    ],
    "activity": [
        {"id": "urn:x:act/dl3", "name": "ctapipe-apply-models", "starttime": t("2024-01-02T03:04:05"),
         "endtime": t("2024-01-02T03:09:00"), "activitydescription_id": "urn:x:desc/apply-models",
         "comment": "status=completed"},
        {"id": "urn:x:act/dl2", "name": "ctapipe-process", "starttime": t("2024-01-01T00:00:00"),
         "activitydescription_id": "urn:x:desc/process"},
        {"id": "urn:x:act/dl1-tel1", "name": "calibrate tel 1"},
        {"id": "urn:x:act/dl1-tel2", "name": "calibrate tel 2"},
        {"id": "urn:x:act/observation", "name": "observation 1"},
        {"id": "urn:x:act/train", "name": "train models"},
    ],
    "wasgeneratedby": [
        {"entity_id": "ivo://x/dl3?obs_1", "activity_id": "urn:x:act/dl3", "role": "dl3",
         "generationdescription_id": "urn:x:desc/apply-models#dl3"},
        {"entity_id": "urn:x:dl2/run1", "activity_id": "urn:x:act/dl2", "role": "dl2"},
        {"entity_id": "urn:x:dl1/run1-tel1", "activity_id": "urn:x:act/dl1-tel1"},
        {"entity_id": "urn:x:dl1/run1-tel2", "activity_id": "urn:x:act/dl1-tel2"},
        {"entity_id": "urn:x:r0/run1-tel1", "activity_id": "urn:x:act/observation"},
        {"entity_id": "urn:x:r0/run1-tel2", "activity_id": "urn:x:act/observation"},
        {"entity_id": "urn:x:model/gh", "activity_id": "urn:x:act/train"},
        {"entity_id": "ivo://x/dl3?obs_2", "activity_id": "urn:x:act/dl3", "role": "dl3"},
    ],
    "used": [
        {"activity_id": "urn:x:act/dl3", "entity_id": "urn:x:dl2/run1", "role": "events",
         "time": t("2024-01-02T03:04:06"), "usagedescription_id": "urn:x:desc/apply-models#events"},
        {"activity_id": "urn:x:act/dl3", "entity_id": "urn:x:model/gh", "role": "gammaness model"},
        {"activity_id": "urn:x:act/dl2", "entity_id": "urn:x:dl1/run1-tel1", "role": "dl1"},
        {"activity_id": "urn:x:act/dl2", "entity_id": "urn:x:dl1/run1-tel2", "role": "dl1"},
        {"activity_id": "urn:x:act/dl1-tel1", "entity_id": "urn:x:r0/run1-tel1"},
        {"activity_id": "urn:x:act/dl1-tel2", "entity_id": "urn:x:r0/run1-tel2"},
        {"activity_id": "urn:x:act/train", "entity_id": "urn:x:mc/train"},
    ],
    "wasderivedfrom": [
        {"generatedentity_id": "ivo://x/dl3?obs_1", "usedentity_id": "urn:x:dl2/run1",
         "activity_id": "urn:x:act/dl3"},
    ],
    "wasinformedby": [
        {"informed_id": "urn:x:act/dl2", "informant_id": "urn:x:act/observation"},
    ],
    "wasassociatedwith": [
        {"activity_id": "urn:x:act/dl3", "agent_id": "urn:x:agent/ctapipe", "role": "Operator"},
        {"activity_id": "urn:x:act/dl2", "agent_id": "urn:x:agent/ctapipe", "role": "Operator"},
    ],
    "wasattributedto": [
        {"entity_id": "ivo://x/dl3?obs_1", "agent_id": "urn:x:agent/dpps", "role": "Publisher"},
    ],
    "hadmember": [
        {"collection_id": "urn:x:collection/release1", "entity_id": "ivo://x/dl3?obs_1"},
        {"collection_id": "urn:x:collection/release1", "entity_id": "ivo://x/dl3?obs_2"},
    ],
    "parameter": [
        {"activity_id": "urn:x:act/dl3", "name": "gammaness_cut", "value": "0.7",
         "parameterdescription_id": "urn:x:desc/apply-models#cut", "valueentity_id": "urn:x:value/cut"},
        {"activity_id": "urn:x:act/dl3", "name": "EventQualityQuery.quality_criteria",
         "value": '[["> 50 phe", "hillas_intensity > 50"]]'},
    ],
    "configfile": [
        {"activity_id": "urn:x:act/dl3", "name": "apply.yaml", "location": "/etc/ctapipe/apply.yaml"},
    ],
}

DL3 = "ivo://x/dl3?obs_1"

# A malformed graph: e1 <- a1 <- e2 <- a2 <- e1 (each entity generated by an activity that used the other).
CYCLE: dict[str, list[dict[str, Any]]] = {
    "entity": [{"id": "urn:cycle:e1", "entity_class": "Entity"}, {"id": "urn:cycle:e2", "entity_class": "Entity"}],
    "activity": [{"id": "urn:cycle:a1"}, {"id": "urn:cycle:a2"}],
    "wasgeneratedby": [{"entity_id": "urn:cycle:e1", "activity_id": "urn:cycle:a1"},
                       {"entity_id": "urn:cycle:e2", "activity_id": "urn:cycle:a2"}],
    "used": [{"activity_id": "urn:cycle:a1", "entity_id": "urn:cycle:e2"},
             {"activity_id": "urn:cycle:a2", "entity_id": "urn:cycle:e1"}],
    "wasinformedby": [{"informed_id": "urn:cycle:a1", "informant_id": "urn:cycle:a1"}],
    "wasderivedfrom": [{"generatedentity_id": "urn:cycle:e1", "usedentity_id": "urn:cycle:e1"}],
}
