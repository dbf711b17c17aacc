"""ctapipe provenance logs (``<tool>.provenance.log``) as ProvTAP rows (provenance.md §6).

A log holds one or more JSON lists (ctapipe appends one per run) of finished activities, each with
``activity_name``, ``activity_uuid``, ``status``, ``exit_code``, ``start``/``stop`` (``time_utc``), ``system``
(ctapipe version, platform, python packages, environment), ``config`` (the tool's configuration) and
``input``/``output`` lists of ``{url, role, reference_meta}``.

Mapping:

* activity ``urn:uuid:<activity_uuid>``, name, start and stop times, comment ``status=..., exit_code=...``;
  its description is the tool at the ctapipe version (``urn:ctapipe:tool:<name>:<version>``);
* a SoftwareAgent for ctapipe at that version, associated as ``Operator``;
* each input/output file is an entity: ``urn:uuid:<product id>`` when its reference metadata has a product id
  (legacy ``CTA PRODUCT ID`` or current ``instance.id``), else ``file://<path>``; location = path, checksum =
  sha256 of the file when it can be read now (what links it to ingested files and datasets);
  inputs are *used*, outputs *generated*, each with its role; an output's contact organisation becomes an
  Organization agent the file is attributed to (``Publisher``);
* inputs with role ``Tool Configuration`` are configuration files of the activity;
* ``config`` becomes parameters with dotted names (``EventQualityQuery.quality_criteria``), values as text
  (JSON for lists and mappings, ``<value> <unit>`` for quantities);
* ``system`` is a ValueEntity holding it as JSON, used by the activity in the role ``system`` whose usage
  description has type ``Context``.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tapserver.provenance.graph import ProvGraph, Row, Rows
from tapserver.provenance.mapping import Imported

CONFIG_ROLE = "Tool Configuration"
SYSTEM_ROLE = "system"


class CtapipeLogError(ValueError):
    """The log is not a ctapipe provenance log; the message names the element."""


def parse_log(content: str) -> list[dict[str, Any]]:
    """The activities of a log: one or more concatenated JSON lists."""
    decoder = json.JSONDecoder()
    activities: list[dict[str, Any]] = []
    position, end, block = 0, len(content), 0
    while True:
        while position < end and content[position].isspace():
            position += 1
        if position >= end:
            break
        block += 1
        try:
            value, position = decoder.raw_decode(content, position)
        except json.JSONDecodeError as exc:
            raise CtapipeLogError(f"JSON block {block}: {exc}") from None
        if not isinstance(value, list):
            raise CtapipeLogError(f"JSON block {block}: a ctapipe provenance log holds lists of activities")
        for item in value:
            if not isinstance(item, dict):
                raise CtapipeLogError(f"JSON block {block}: activity #{len(activities) + 1} is not an object")
            activities.append(item)
    if not activities:
        raise CtapipeLogError("the log holds no activity")
    return activities


def _time(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise CtapipeLogError(f"{where}: not an ISO time: {value!r}") from None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _uuid_iri(value: Any) -> str | None:
    try:
        return f"urn:uuid:{uuid.UUID(str(value))}"
    except (ValueError, TypeError, AttributeError):
        return None


def _reference(meta: Any) -> dict[str, Any]:
    """Product id, creation time, format and contact organisation from legacy or current reference metadata."""
    if not isinstance(meta, Mapping):
        return {}
    if any(str(key).startswith("CTA ") for key in meta):  # legacy flat keys
        return {"id": meta.get("CTA PRODUCT ID"), "created": meta.get("CTA PRODUCT CREATION TIME"),
                "format": meta.get("CTA PRODUCT FORMAT"), "description": meta.get("CTA PRODUCT DESCRIPTION"),
                "organization": meta.get("CTA CONTACT ORGANIZATION")}
    instance, contact = _mapping(meta.get("instance")), _mapping(meta.get("contact"))
    return {"id": instance.get("id"), "created": meta.get("creation_time"), "format": None,
            "description": meta.get("description"), "organization": contact.get("organization")}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def sha256_of(path: str) -> str | None:
    """``sha256:<hex>`` of a readable file, else None (the log may come from another machine)."""
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
        return "sha256:" + digest.hexdigest()
    except OSError:
        return None


def _flatten(config: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(config, Mapping):
        if set(config) == {"value", "unit"}:  # a serialised astropy Quantity
            yield prefix, f"{json.dumps(config['value'])} {config['unit']}"
            return
        for key, value in config.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(config, str):
        yield prefix, config
    else:
        yield prefix, json.dumps(config)


class _Rows:
    def __init__(self) -> None:
        self.rows: Rows = {}

    def add(self, table: str, row: Row) -> None:
        self.rows.setdefault(table, []).append(row)


def graph_from_log(activities: list[dict[str, Any]], *, checksum: bool = True) -> Imported:
    """Rows for the activities of a log; ``checksum`` reads the files that exist to checksum them."""
    out = _Rows()
    entities: dict[str, Row] = {}
    for number, activity in enumerate(activities, start=1):
        name = activity.get("activity_name")
        where = f"activity #{number}" + (f" ({name})" if name else "")
        activity_id = _uuid_iri(activity.get("activity_uuid"))
        if activity_id is None:
            raise CtapipeLogError(f"{where}: activity_uuid {activity.get('activity_uuid')!r} is not a UUID")
        if not name:
            raise CtapipeLogError(f"{where}: no activity_name")
        system = _mapping(activity.get("system"))
        version = str(system.get("ctapipe_version") or "unknown")
        start, stop = activity.get("start") or {}, activity.get("stop") or {}
        if not isinstance(start, Mapping) or not isinstance(stop, Mapping):
            raise CtapipeLogError(f"{where}: start and stop must be objects with time_utc")
        description_id = f"urn:ctapipe:tool:{quote(str(name), safe='')}:{quote(version, safe='')}"
        out.add("activitydescription", {"id": description_id, "name": str(name), "version": version,
                                        "description": f"ctapipe tool {name}", "type": None, "subtype": None,
                                        "docurl": None})
        out.add("activity", {
            "id": activity_id, "name": str(name), "starttime": _time(start.get("time_utc"), f"{where} start"),
            "endtime": _time(stop.get("time_utc"), f"{where} stop"),
            "comment": f"status={activity.get('status')}, exit_code={activity.get('exit_code')}",
            "activitydescription_id": description_id})
        software_id = f"urn:ctapipe:software:ctapipe:{quote(version, safe='')}"
        out.add("agent", {"id": software_id, "name": f"ctapipe {version}", "type": "SoftwareAgent",
                          "url": "https://github.com/cta-observatory/ctapipe"})
        out.add("wasassociatedwith", {"activity_id": activity_id, "agent_id": software_id, "role": "Operator"})
        if system:
            system_id = f"{activity_id}#system"
            usage_id = f"{description_id}#usage/{SYSTEM_ROLE}"
            out.add("usagedescription", {"id": usage_id, "activitydescription_id": description_id,
                                         "role": SYSTEM_ROLE, "type": "Context", "multiplicity": "1",
                                         "description": "platform, python packages and environment of the run"})
            entities[system_id] = {"id": system_id, "name": f"system of {name}", "entity_class": "ValueEntity",
                                   "value": json.dumps(system, sort_keys=True), "content_type": "application/json"}
            out.add("used", {"activity_id": activity_id, "entity_id": system_id, "role": SYSTEM_ROLE,
                             "usagedescription_id": usage_id})
        config = activity.get("config")
        if config is not None:
            for parameter, value in _flatten(config):
                out.add("parameter", {"activity_id": activity_id, "name": parameter or "config", "value": value})
        for direction in ("input", "output"):
            files = activity.get(direction) or []
            if not isinstance(files, list):
                raise CtapipeLogError(f"{where}: {direction} must be a list")
            for index, item in enumerate(files, start=1):
                if not isinstance(item, Mapping) or not item.get("url"):
                    raise CtapipeLogError(f"{where}: {direction} #{index} has no url")
                url, role = str(item["url"]), item.get("role")
                path = url[len("file://"):] if url.startswith("file://") else url
                if direction == "input" and role == CONFIG_ROLE:
                    out.add("configfile", {"activity_id": activity_id, "name": os.path.basename(path) or path,
                                           "location": path})
                    continue
                reference = _reference(item.get("reference_meta"))
                entity_id = _uuid_iri(reference.get("id")) or (
                    f"file://{path}" if path.startswith("/") else path)
                created = _time(reference.get("created"), f"{where}: {direction} #{index} creation time")
                entity = entities.setdefault(entity_id, {"id": entity_id, "entity_class": "DatasetEntity"})
                entity.update({key: value for key, value in {
                    "name": Path(path).name or path, "location": path, "comment": reference.get("description"),
                    "content_type": reference.get("format"), "generatedattime": created,
                }.items() if value is not None and entity.get(key) is None})
                if checksum and "checksum" not in entity:
                    entity["checksum"] = sha256_of(path)
                if direction == "input":
                    out.add("used", {"activity_id": activity_id, "entity_id": entity_id, "role": role})
                    continue
                out.add("wasgeneratedby", {"entity_id": entity_id, "activity_id": activity_id, "role": role})
                organization = reference.get("organization")
                if organization and str(organization).lower() not in ("unknown", ""):
                    agent_id = f"urn:ctapipe:organization:{quote(str(organization), safe='')}"
                    out.add("agent", {"id": agent_id, "name": str(organization), "type": "Organization"})
                    out.add("wasattributedto", {"entity_id": entity_id, "agent_id": agent_id, "role": "Publisher"})
    out.rows["entity"] = list(entities.values())
    return Imported(graph=ProvGraph(rows=out.rows), referenced_entity_times={})
