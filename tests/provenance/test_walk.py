"""The recursive walk: DEPTH, DIRECTION, AGENT, MEMBERS on a 6-level graph, a cyclic graph, and random graphs
checked against a plain breadth-first search written here from the ProvDAL rules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine

from tapserver.provenance.graph import ProvGraph
from tapserver.provenance.storage import Direction, WalkRequest, walk
from tests.provenance.conftest import clear, insert
from tests.provenance.graphs import CYCLE, DL3, PIPELINE


@pytest.fixture()
def pipeline(prov_engine: Engine) -> Iterator[Engine]:
    insert(prov_engine, PIPELINE)
    insert(prov_engine, CYCLE)
    yield prov_engine
    clear(prov_engine)


def run(target: Engine | Connection, ids: tuple[str, ...], depth: int | None, **options: Any) -> ProvGraph:
    options.setdefault("details", False)
    with target.connect() if isinstance(target, Engine) else nullcontext(target) as conn:
        result = walk(conn, WalkRequest(ids=ids, depth=depth, **options), max_nodes=10_000)
    assert result.graph is not None
    return result.graph


def ids(graph: ProvGraph) -> set[str]:
    return {node.id for node in graph.nodes()}


LEVELS = [
    {DL3},
    {"urn:x:act/dl3", "urn:x:dl2/run1", "urn:x:agent/dpps", "urn:x:collection/release1"},
    {"urn:x:model/gh", "urn:x:agent/ctapipe", "urn:x:act/dl2"},
    {"urn:x:act/train", "urn:x:dl1/run1-tel1", "urn:x:dl1/run1-tel2", "urn:x:act/observation"},
    {"urn:x:mc/train", "urn:x:act/dl1-tel1", "urn:x:act/dl1-tel2"},
    {"urn:x:r0/run1-tel1", "urn:x:r0/run1-tel2"},
]


@pytest.mark.parametrize("depth", range(7))
def test_back_depth_by_depth(pipeline: Engine, depth: int) -> None:
    expected = set().union(*LEVELS[: depth + 1])
    assert ids(run(pipeline, (DL3,), depth)) == expected


def test_all_is_the_whole_history(pipeline: Engine) -> None:
    graph = run(pipeline, (DL3,), None)
    assert ids(graph) == set().union(*LEVELS)
    assert ids(graph) == ids(run(pipeline, (DL3,), 50))
    # relations followed from expanded nodes: all of the history, nothing of obs_2's generation
    assert {(r["entity_id"], r["activity_id"]) for r in graph.table("wasgeneratedby")} == {
        (DL3, "urn:x:act/dl3"), ("urn:x:dl2/run1", "urn:x:act/dl2"), ("urn:x:dl1/run1-tel1", "urn:x:act/dl1-tel1"),
        ("urn:x:dl1/run1-tel2", "urn:x:act/dl1-tel2"), ("urn:x:r0/run1-tel1", "urn:x:act/observation"),
        ("urn:x:r0/run1-tel2", "urn:x:act/observation"), ("urn:x:model/gh", "urn:x:act/train")}
    assert len(graph.table("used")) == 7
    assert [r["informant_id"] for r in graph.table("wasinformedby")] == ["urn:x:act/observation"]


def test_depth_one_relations_stop_at_the_frontier(pipeline: Engine) -> None:
    graph = run(pipeline, (DL3,), 1)
    assert [r["activity_id"] for r in graph.table("wasgeneratedby")] == ["urn:x:act/dl3"]
    assert graph.table("used") == []  # the activity is reached but not expanded
    assert [r["usedentity_id"] for r in graph.table("wasderivedfrom")] == ["urn:x:dl2/run1"]
    assert [r["collection_id"] for r in graph.table("hadmember")] == ["urn:x:collection/release1"]
    assert [r["agent_id"] for r in graph.table("wasattributedto")] == ["urn:x:agent/dpps"]


def test_details_come_with_their_nodes(pipeline: Engine) -> None:
    graph = run(pipeline, (DL3,), 1, details=True)
    # the value entity a parameter refers to comes with the parameter
    assert {r["id"] for r in graph.table("entity")} == LEVELS[0] | {"urn:x:dl2/run1", "urn:x:collection/release1",
                                                                    "urn:x:value/cut"}
    assert {r["id"] for r in graph.table("activitydescription")} == {"urn:x:desc/apply-models"}
    assert {r["id"] for r in graph.table("entitydescription")} == {"urn:x:desc/dl3"}
    assert {r["id"] for r in graph.table("generationdescription")} == {"urn:x:desc/apply-models#dl3"}
    assert graph.table("usagedescription") == []  # no used relation at depth 1
    assert {r["name"] for r in graph.table("parameter")} == {"gammaness_cut", "EventQualityQuery.quality_criteria"}
    assert {r["id"] for r in graph.table("parameterdescription")} == {"urn:x:desc/apply-models#cut"}
    assert [r["location"] for r in graph.table("configfile")] == ["/etc/ctapipe/apply.yaml"]
    bare = run(pipeline, (DL3,), 1)
    assert all(bare.table(t) == [] for t in ("activitydescription", "parameter", "configfile"))


def test_forth_finds_what_was_made_from_a_raw_file(pipeline: Engine) -> None:
    graph = run(pipeline, ("urn:x:r0/run1-tel1",), None, direction=Direction.FORTH)
    assert ids(graph) == {"urn:x:r0/run1-tel1", "urn:x:act/dl1-tel1", "urn:x:dl1/run1-tel1", "urn:x:act/dl2",
                          "urn:x:dl2/run1", "urn:x:act/dl3", DL3, "ivo://x/dl3?obs_2", "urn:x:agent/ctapipe",
                          "urn:x:agent/dpps", "urn:x:collection/release1"}
    # FORTH from the observation follows wasInformedBy to the informed activity
    assert "urn:x:act/dl2" in ids(run(pipeline, ("urn:x:act/observation",), 1, direction=Direction.FORTH))
    assert ids(run(pipeline, ("urn:x:r0/run1-tel1",), 2, direction=Direction.FORTH)) == {
        "urn:x:r0/run1-tel1", "urn:x:act/dl1-tel1", "urn:x:dl1/run1-tel1"}


def test_agents_are_followed_only_with_agent(pipeline: Engine) -> None:
    assert ids(run(pipeline, ("urn:x:agent/ctapipe",), 3)) == {"urn:x:agent/ctapipe"}
    graph = run(pipeline, ("urn:x:agent/ctapipe",), 1, agent=True)
    assert ids(graph) == {"urn:x:agent/ctapipe", "urn:x:act/dl3", "urn:x:act/dl2"}
    assert len(graph.table("wasassociatedwith")) == 2


def test_members_only_with_members(pipeline: Engine) -> None:
    collection = "urn:x:collection/release1"
    assert ids(run(pipeline, (collection,), 1)) == {collection}
    assert ids(run(pipeline, (collection,), 1, members=True)) == {collection, DL3, "ivo://x/dl3?obs_2"}


def test_several_ids_are_merged(pipeline: Engine) -> None:
    graph = run(pipeline, (DL3, "urn:x:mc/train"), 0)
    assert ids(graph) == {DL3, "urn:x:mc/train"}
    assert {seed.id for seed in graph.seeds} == {DL3, "urn:x:mc/train"}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("depth", [None, 2, 50])
@pytest.mark.parametrize("direction", list(Direction))
def test_a_cycle_does_not_hang(pipeline: Engine, depth: int | None, direction: Direction) -> None:
    graph = run(pipeline, ("urn:cycle:e1",), depth, direction=direction)
    expected = {"urn:cycle:e1", "urn:cycle:a1", "urn:cycle:e2", "urn:cycle:a2"}
    beyond_two = "urn:cycle:a2" if direction is Direction.BACK else "urn:cycle:a1"
    assert ids(graph) == (expected - {beyond_two} if depth == 2 else expected)
    if depth != 2:  # the self-loops are followed once, not forever
        assert len(graph.table("wasinformedby")) == 1 and len(graph.table("wasderivedfrom")) == 1


def test_unknown_ids_are_reported_and_the_node_limit_holds(pipeline: Engine) -> None:
    with pipeline.connect() as conn:
        result = walk(conn, WalkRequest(ids=(DL3, "urn:nope"), depth=None), max_nodes=5)
    assert result.found == {DL3}
    assert result.node_count == len(set().union(*LEVELS))
    assert result.graph is None


# ---------------------------------------------------------------------------- random graphs vs reference BFS

# (table, source kind, source column, target kind, target column), oriented towards the past.
CAUSAL = [("wasgeneratedby", "entity", "entity_id", "activity", "activity_id"),
          ("used", "activity", "activity_id", "entity", "entity_id"),
          ("wasderivedfrom", "entity", "generatedentity_id", "entity", "usedentity_id"),
          ("wasinformedby", "activity", "informed_id", "activity", "informant_id")]
RESPONSIBLE = [("wasassociatedwith", "activity", "activity_id", "agent", "agent_id"),
               ("wasattributedto", "entity", "entity_id", "agent", "agent_id")]
MEMBER_OF = ("hadmember", "entity", "entity_id", "entity", "collection_id")


def flip(edge: tuple[str, str, str, str, str]) -> tuple[str, str, str, str, str]:
    return (edge[0], edge[3], edge[4], edge[1], edge[2])


def reference(rows: dict[str, list[dict[str, Any]]], seeds: list[tuple[str, str]], depth: int | None,
              direction: Direction, agent: bool, members: bool) -> tuple[set[tuple[str, str]], set[Any]]:
    edges = [e if direction is Direction.BACK else flip(e) for e in CAUSAL] + RESPONSIBLE + [MEMBER_OF]
    if agent:
        edges += [flip(e) for e in RESPONSIBLE]
    if members:
        edges.append(flip(MEMBER_OF))
    distance = dict.fromkeys(seeds, 0)
    queue = list(seeds)
    relations: set[Any] = set()
    while queue:
        node = queue.pop(0)
        if (depth is not None and distance[node] >= depth) or (node[0] == "agent" and not agent):
            continue
        for table, skind, scol, tkind, tcol in edges:
            for row in rows.get(table, []):
                if skind == node[0] and row[scol] == node[1]:
                    relations.add((table, tuple(sorted(row.items()))))
                    target = (tkind, row[tcol])
                    if target not in distance:
                        distance[target] = distance[node] + 1
                        queue.append(target)
    return set(distance), relations


@st.composite
def random_graphs(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    entities = [f"e{i}" for i in range(draw(st.integers(1, 7)))]
    activities = [f"a{i}" for i in range(draw(st.integers(1, 5)))]
    agents = [f"g{i}" for i in range(draw(st.integers(0, 2)))]
    pairs = st.lists

    def relation(a: list[str], b: list[str], cols: tuple[str, str]) -> list[dict[str, Any]]:
        if not a or not b:
            return []
        chosen = draw(pairs(st.tuples(st.sampled_from(a), st.sampled_from(b)), max_size=8, unique=True))
        return [{cols[0]: x, cols[1]: y} for x, y in chosen]

    generated = draw(st.dictionaries(st.sampled_from(entities), st.sampled_from(activities), max_size=len(entities)))
    return {
        "entity": [{"id": e, "entity_class": "Entity"} for e in entities],
        "activity": [{"id": a} for a in activities],
        "agent": [{"id": g, "name": g} for g in agents],
        "wasgeneratedby": [{"entity_id": e, "activity_id": a} for e, a in generated.items()],
        "used": relation(activities, entities, ("activity_id", "entity_id")),
        "wasderivedfrom": relation(entities, entities, ("generatedentity_id", "usedentity_id")),
        "wasinformedby": relation(activities, activities, ("informed_id", "informant_id")),
        "wasassociatedwith": relation(activities, agents, ("activity_id", "agent_id")),
        "wasattributedto": relation(entities, agents, ("entity_id", "agent_id")),
        "hadmember": relation(entities, entities, ("collection_id", "entity_id")),
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=random_graphs(), data=st.data())
def test_walk_matches_a_breadth_first_search(prov_engine: Engine, graph: dict[str, list[dict[str, Any]]],
                                             data: st.DataObject) -> None:
    nodes = [("entity", r["id"]) for r in graph["entity"]] + [("activity", r["id"]) for r in graph["activity"]]
    nodes += [("agent", r["id"]) for r in graph["agent"]]
    seeds = data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=2, unique=True))
    depth = data.draw(st.one_of(st.none(), st.integers(0, 6)))
    direction = data.draw(st.sampled_from(list(Direction)))
    agent, members = data.draw(st.booleans()), data.draw(st.booleans())
    with prov_engine.connect() as conn:  # one connection, the rows never committed: nothing to clear
        insert(conn, graph)
        try:
            got = run(conn, tuple(s[1] for s in seeds), depth, direction=direction, agent=agent,
                      members=members, details=False)
        finally:
            conn.rollback()
    expected_nodes, expected_relations = reference(graph, seeds, depth, direction, agent, members)
    assert {(n.kind.value, n.id) for n in got.nodes()} == expected_nodes
    assert relation_keys(got.rows) == {(table, tuple(v for _k, v in items)) for table, items in expected_relations}


KEYS = {"wasgeneratedby": ("activity_id", "entity_id"), "used": ("activity_id", "entity_id"),
        "wasderivedfrom": ("generatedentity_id", "usedentity_id"), "wasinformedby": ("informant_id", "informed_id"),
        "wasassociatedwith": ("activity_id", "agent_id"), "wasattributedto": ("agent_id", "entity_id"),
        "hadmember": ("collection_id", "entity_id")}


def relation_keys(rows: dict[str, list[dict[str, Any]]]) -> set[tuple[str, tuple[str, ...]]]:
    """Relations by their end points, columns in name order (as the reference's sorted items)."""
    return {(table, tuple(row[c] for c in KEYS[table])) for table in KEYS for row in rows.get(table, [])}
