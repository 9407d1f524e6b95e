"""A replayed write after ANOTHER writer wrote in between, and a batch racing single writes.

A write is applied by DynamoDB, its response is lost, another writer (its own client) writes the
same item, then botocore replays the first request. Every config write of both domains must
report what IT did (the version it produced, or the entity it deleted) and never apply twice: the
other writer's newer values stay, ``version`` never moves back or skips, a re-created item is
never deleted. Fault injection at the HTTP layer (``reliability_faults``): the injector sends the
request itself, and only when DynamoDB answered 200 (the write WAS applied) it loses the answer
and lets the other writer write before botocore's retry. Runs on DynamoDB Local, moto server and
dynalite (scripts/test-emulators.sh); ``no_old_item`` drops ``ReturnValuesOnConditionCheckFailure``
as dynalite does, so the gateway confirms a failed condition with a consistent read.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from reliability_faults import FaultInjector
from reliability_helpers import Domain, registry_on

from airflow_provider_pipeline_registry.registry import ConflictError, Registry, RunStatus, ValidationError
from airflow_provider_pipeline_registry.registry.write_tokens import KEEP, TRIM_ABOVE

pytestmark = pytest.mark.integration

WRITE_OPERATIONS = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
FAULTS = ["lost_response", "lost_response_no_old_item"]


class LostAppliedResponse(FaultInjector):
    """The answer to the first APPLIED write among ``operations`` is lost (``ReadTimeoutError``,
    so botocore replays the request); ``between()`` runs after DynamoDB applied it and before the
    replay. A write DynamoDB refused (a failed condition) is answered as it was: it was not
    applied, so losing it would test nothing."""

    def __init__(self, client: Any, *, between: Callable[[], None], omit_old_item: bool) -> None:
        super().__init__(
            client,
            rate=1.0,
            seed=1,
            kinds=("lost_response",),
            operations=WRITE_OPERATIONS,
            max_faults=1,
            omit_old_item=omit_old_item,
        )
        self.between = between

    def _before_send(self, request: Any, **_: Any) -> Any:
        operation = self._operation(request)
        with self._lock:
            self.calls[operation] += 1
            done = sum(self.faults.values()) >= 1
        if done or not self.enabled or operation not in WRITE_OPERATIONS:
            return None
        response = self._http.send(request)
        if response.status_code != 200:
            return response  # not applied: DynamoDB's own answer
        with self._lock:
            self.faults["lost_response"] += 1
        self.between()  # another writer writes the same item
        raise ReadTimeoutError(endpoint_url=request.url)


@pytest.fixture(scope="module")
def tables(dynamodb_endpoint: str) -> str:
    """The module's tables (created once); their prefix."""
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    registry_on(dynamodb_endpoint, prefix)
    return prefix


@pytest.fixture
def writers(dynamodb_endpoint: str, tables: str) -> tuple[Registry, Registry]:
    """Our registry and another writer's, each with its own client (and so its own botocore
    retry quota: a replay refused by its condition is never refunded), on the same tables."""
    return (
        registry_on(dynamodb_endpoint, tables, create=False, max_attempts=3),
        registry_on(dynamodb_endpoint, tables, create=False, max_attempts=3),
    )


@pytest.fixture
def lose(writers: tuple[Registry, Registry]) -> Iterator[Callable[..., LostAppliedResponse]]:
    made: list[LostAppliedResponse] = []

    def factory(between: Callable[[], None], fault: str) -> LostAppliedResponse:
        injector = LostAppliedResponse(
            writers[0].client, between=between, omit_old_item=fault == "lost_response_no_old_item"
        )
        made.append(injector)
        return injector

    yield factory
    for injector in made:
        injector.remove()


# write -> (the item exists before, at version 1: bool; our write; the other writer's write)
Call = Callable[[Domain, str], Any]
SCENARIOS: dict[str, tuple[bool, Call, Call]] = {
    "create": (
        False,
        lambda d, i: d.write.create(d.dto(i, description="ours")),
        lambda d, i: d.write.update(i, {"description": "other"}),
    ),
    "update": (
        True,
        lambda d, i: d.write.update(i, {"description": "ours"}),
        lambda d, i: d.write.update(i, {"description": "other"}),
    ),
    "update_versioned": (
        True,
        lambda d, i: d.write.update(i, {"description": "ours"}, expected_version=1),
        lambda d, i: d.write.update(i, {"description": "other"}, expected_version=2),
    ),
    "upsert": (
        True,
        lambda d, i: d.write.upsert(d.dto(i, description="ours")),
        lambda d, i: d.write.upsert(d.dto(i, description="other")),
    ),
    "upsert_versioned": (
        True,
        lambda d, i: d.write.upsert(d.dto(i, description="ours"), expected_version=1),
        lambda d, i: d.write.upsert(d.dto(i, description="other"), expected_version=2),
    ),
    "upsert_new": (
        False,
        lambda d, i: d.write.upsert(d.dto(i, description="ours")),
        lambda d, i: d.write.update(i, {"description": "other"}),
    ),
    "upsert_expected_0": (
        False,
        lambda d, i: d.write.upsert(d.dto(i, description="ours"), expected_version=0),
        lambda d, i: d.write.update(i, {"description": "other"}, expected_version=1),
    ),
    "batch_upsert_new": (
        False,
        lambda d, i: d.write.batch_upsert([d.dto(i, description="ours")]),
        lambda d, i: d.write.update(i, {"description": "other"}),
    ),
    "batch_upsert_existing": (
        True,
        lambda d, i: d.write.batch_upsert([d.dto(i, description="ours")]),
        lambda d, i: d.write.update(i, {"description": "other"}),
    ),
    # the other writer re-creates the item our delete removed
    "delete": (
        True,
        lambda d, i: d.write.delete(i),
        lambda d, i: d.write.create(d.dto(i, description="other")),
    ),
    "delete_versioned": (
        True,
        lambda d, i: d.write.delete(i, expected_version=1),
        lambda d, i: d.write.upsert(d.dto(i, description="other")),
    ),
}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("write", SCENARIOS)
@pytest.mark.parametrize("kind", ["pipelines", "tables"])
def test_a_replay_after_another_writer_reports_its_own_write_and_never_reapplies(
    writers: tuple[Registry, Registry],
    lose: Callable[..., LostAppliedResponse],
    kind: str,
    write: str,
    fault: str,
) -> None:
    ours, other = Domain(writers[0], kind), Domain(writers[1], kind)
    item_id = f"{kind}_{uuid.uuid4().hex[:10]}"
    exists_before, our_write, other_write = SCENARIOS[write]
    if exists_before:
        ours.write.create(ours.dto(item_id))
    other_results: list[Any] = []
    injector = lose(lambda: other_results.append(other_write(other, item_id)), fault)

    result = our_write(ours, item_id)

    injector.remove()
    assert injector.faults["lost_response"] == 1, "our applied write's answer was lost"
    assert len(other_results) == 1, "and the other writer wrote before the replay"
    stored = ours.stored(item_id)
    assert stored is not None
    # the other writer's write is what is stored, untouched by the replay
    assert stored.description == "other"
    if write.startswith("delete"):
        # our delete removed version 1; the item there now is the one the other writer created
        assert (result.version, result.description) == (1, None)
        assert (stored.version, stored.created_at) == (1, other_results[0].created_at)
        assert stored.created_at != result.created_at
        return
    # ours produced version 2 on an existing item, 1 on a new one; the other writer the next
    produced = 2 if exists_before else 1
    assert stored.version == produced + 1 == other_results[0].version
    if write.startswith("batch_upsert"):
        assert (result.written, result.failed) == ([item_id], [])
        return
    # the replay reports OUR write: the version it produced, the values it wrote
    assert (result.version, result.description) == (produced, "ours")
    assert getattr(result, ours.id_field) == item_id


def test_versions_stay_unique_when_a_batch_races_a_versioned_single_write(
    writers: tuple[Registry, Registry],
) -> None:
    """The single write lands between the batch's read and its write: the batch must not store
    its content at the version the single write was told, so a third writer holding that version
    cannot update content it never saw."""
    batch_registry, single_registry = writers
    item_id = f"p_{uuid.uuid4().hex[:10]}"
    batch_registry.pipelines_write.create({"pipeline_id": item_id, "name": "Sales"})
    told: list[Any] = []
    fired = threading.Event()

    def single_write_after_the_batch_read(**_: Any) -> None:
        if not fired.is_set():
            fired.set()
            told.append(single_registry.pipelines_write.update(item_id, {"owner": "single"}, expected_version=1))

    events = batch_registry.client.meta.events
    events.register("after-call.dynamodb.BatchGetItem", single_write_after_the_batch_read, unique_id="race-read")
    try:
        report = batch_registry.pipelines_write.batch_upsert(
            [{"pipeline_id": item_id, "name": "Sales", "owner": "batch"}]
        )
    finally:
        events.unregister("after-call.dynamodb.BatchGetItem", unique_id="race-read")
    assert fired.is_set()
    assert len(told) == 1
    assert (told[0].version, told[0].owner) == (2, "single")
    assert (report.written, report.failed) == ([item_id], [])
    stored = batch_registry.pipelines.find_entity(item_id, consistent=True)
    assert stored is not None
    # the batch's content has a version of its own
    assert (stored.version, stored.owner) == (3, "batch")
    # a third writer that saw only the single write's version 2 is refused
    with pytest.raises(ConflictError, match="at version 3, not the expected version 2"):
        single_registry.pipelines_write.update(item_id, {"description": "third"}, expected_version=2)


class StoredPuts:
    """Records (version, owner) of every item a client's successful put stored (PutItem,
    TransactWriteItems or BatchWriteItem), from the request it sent."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.stored: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        events = client.meta.events
        events.register("before-parameter-build.dynamodb", self._sent, unique_id="race-puts-sent")
        events.register("after-call.dynamodb", self._answered, unique_id="race-puts-answered")

    def remove(self) -> None:
        self.client.meta.events.unregister("before-parameter-build.dynamodb", unique_id="race-puts-sent")
        self.client.meta.events.unregister("after-call.dynamodb", unique_id="race-puts-answered")

    def _sent(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        items = [params["Item"]] if "Item" in params and "TableName" in params else []
        items += [action["Put"]["Item"] for action in params.get("TransactItems", []) if "Put" in action]
        for requests in params.get("RequestItems", {}).values():
            items += [r["PutRequest"]["Item"] for r in requests if isinstance(r, dict) and "PutRequest" in r]
        context["race_puts"] = [(int(i["version"]["N"]), i.get("owner", {}).get("S", "")) for i in items]

    def _answered(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "Error" not in parsed and not parsed.get("UnprocessedItems"):
            with self._lock:
                self.stored.extend(context.get("race_puts", []))


@pytest.mark.needs("atomic-concurrent-updates")
def test_concurrent_batches_and_versioned_writes_never_give_one_version_two_contents(
    writers: tuple[Registry, Registry],
) -> None:
    batch_registry, single_registry = writers
    item_id = f"p_{uuid.uuid4().hex[:10]}"
    batch_registry.pipelines_write.create({"pipeline_id": item_id, "name": "Sales", "owner": "first"})
    puts = StoredPuts(batch_registry.client)
    told: list[tuple[int, str]] = []
    start = threading.Barrier(2)

    reasons: list[str] = []

    def batches() -> None:
        start.wait()
        for k in range(20):
            report = batch_registry.pipelines_write.batch_upsert(
                [{"pipeline_id": item_id, "name": "Sales", "owner": f"batch-{k}"}]
            )
            # an item other writers keep changing is reported after 5 rounds, never overwritten
            reasons.extend(failure["reason"] for failure in report.failed)

    def singles() -> None:
        start.wait()
        for k in range(20):
            seen = single_registry.pipelines.find_entity(item_id, consistent=True)
            assert seen is not None
            try:
                done = single_registry.pipelines_write.update(
                    item_id, {"owner": f"single-{k}"}, expected_version=seen.version
                )
            except ConflictError:
                continue
            told.append((done.version, done.owner))

    raised: list[BaseException] = []

    def guarded(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except BaseException as exc:
                raised.append(exc)

        return run

    threads = [threading.Thread(target=guarded(batches)), threading.Thread(target=guarded(singles))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        puts.remove()
    assert not any(t.is_alive() for t in threads)
    assert not raised, raised
    contents: dict[int, set[str]] = {}
    for version, owner in puts.stored + told:
        contents.setdefault(version, set()).add(owner)
    shared = {v: owners for v, owners in contents.items() if len(owners) > 1}
    assert not shared, f"versions given to more than one content: {shared}"
    assert puts.stored, "batches wrote"
    assert told, "and so did single writes"
    assert set(reasons) <= {"not written: changed by other writers during 5 rounds"}


def test_the_token_history_is_bounded_and_a_replay_after_seven_other_writes_still_knows_itself(
    writers: tuple[Registry, Registry], lose: Callable[..., LostAppliedResponse]
) -> None:
    ours, other = writers
    item_id = f"p_{uuid.uuid4().hex[:10]}"
    ours.pipelines_write.create({"pipeline_id": item_id, "name": "Sales"})
    for k in range(40):
        other.pipelines_write.update(item_id, {"owner": f"other-{k}"})
    table = ours.config.table_name("pipeline_config")
    raw = ours.client.get_item(TableName=table, Key={"pipeline_id": {"S": item_id}}, ConsistentRead=True)["Item"]
    history = {token: int(v["N"]) for token, v in raw["write_tokens"]["M"].items()}
    assert KEEP <= len(history) <= TRIM_ABOVE
    # the newest writes are the ones kept, each with the version it produced
    assert max(history.values()) == 41
    assert sorted(history.values()) == list(range(42 - len(history), 42))

    def seven_other_writes() -> None:
        for k in range(KEEP - 1):
            other.pipelines_write.update(item_id, {"owner": f"later-{k}"})

    injector = lose(seven_other_writes, "lost_response")
    result = ours.pipelines_write.update(item_id, {"description": "ours"}, expected_version=41)
    injector.remove()
    assert injector.faults["lost_response"] == 1
    assert (result.version, result.description) == (42, "ours")
    stored = ours.pipelines.find_entity(item_id, consistent=True)
    assert stored is not None
    assert (stored.version, stored.owner, stored.description) == (42 + KEEP - 1, f"later-{KEEP - 2}", "ours")


# -- the run logs' batch_upsert ----------------------------------------------------------------
T0 = datetime(2026, 3, 8, 6, 0, 0, 123456, tzinfo=UTC)


def imported_run(run_id: str, rows: int) -> dict[str, Any]:
    """A run as a bulk import sends it: RUNNING, with its metrics."""
    return {"run_id": run_id, "pipeline_id": "p", "status": "RUNNING", "start_time": T0, "metrics": {"rows": rows}}


def other_writer_ends(registry: Registry, run_id: str) -> Any:
    """Another writer: the run's job ends it (SUCCESS, its own metrics)."""
    return registry.runs_write.finish(
        {"run_id": run_id, "pipeline_id": "p", "status": "SUCCESS", "metrics": {"rows": 99}}
    )


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("exists_before", [False, True], ids=["new-runs", "existing-runs"])
def test_a_runs_batch_replayed_after_another_writer_reports_its_write_and_keeps_theirs(
    writers: tuple[Registry, Registry], lose: Callable[..., LostAppliedResponse], exists_before: bool, fault: str
) -> None:
    """Our batch of two runs is applied, its answer is lost, the other writer ends the first run,
    botocore replays the batch: the replay must not put the batch's RUNNING content again over the
    end (it did with BatchWriteItem, which takes no condition), and reports both runs written."""
    ours, other = writers
    first, second = f"run_{uuid.uuid4().hex[:10]}", f"run_{uuid.uuid4().hex[:10]}"
    if exists_before:
        assert ours.runs_write.batch_upsert([imported_run(first, 0), imported_run(second, 0)]).ok
    ended: list[Any] = []
    injector = lose(lambda: ended.append(other_writer_ends(other, first)), fault)

    report = ours.runs_write.batch_upsert([imported_run(first, 1), imported_run(second, 1)])

    injector.remove()
    assert injector.faults["lost_response"] == 1, "our applied write's answer was lost"
    assert len(ended) == 1, "and the other writer ended the run before the replay"
    assert (report.written, report.failed) == ([f"{first}/p", f"{second}/p"], [])
    stored = ours.runs.find_entity(first, "p", consistent=True)
    assert stored is not None
    # the other writer's end stays: the replay did not put RUNNING back
    assert (stored.status, stored.metrics, stored.end_time) == (RunStatus.SUCCESS, {"rows": 99}, ended[0].end_time)
    untouched = ours.runs.find_entity(second, "p", consistent=True)
    assert untouched is not None
    assert (untouched.status, untouched.metrics) == (RunStatus.RUNNING, {"rows": 1})


@pytest.mark.parametrize("fault", FAULTS)
def test_a_runs_batch_never_overwrites_a_run_written_between_its_read_and_its_write(
    writers: tuple[Registry, Registry], fault: str
) -> None:
    """The other writer ends a run after the batch read it: the batch reports that run failed
    (naming the change), writes the others, and the end stays."""
    ours, other = writers
    live, quiet = f"run_{uuid.uuid4().hex[:10]}", f"run_{uuid.uuid4().hex[:10]}"
    assert ours.runs_write.batch_upsert([imported_run(live, 0), imported_run(quiet, 0)]).ok
    ended: list[Any] = []

    def end_after_the_batch_read(**_: Any) -> None:
        if not ended:
            ended.append(other_writer_ends(other, live))

    # nothing is lost here; "..._no_old_item" drops ALL_OLD from the requests, as dynalite does
    injector = FaultInjector(ours.client, rate=0.0, seed=1, omit_old_item=fault == "lost_response_no_old_item")
    events = ours.client.meta.events
    events.register("after-call.dynamodb.BatchGetItem", end_after_the_batch_read, unique_id="runs-race-read")
    try:
        report = ours.runs_write.batch_upsert([imported_run(live, 1), imported_run(quiet, 1)])
    finally:
        events.unregister("after-call.dynamodb.BatchGetItem", unique_id="runs-race-read")
        injector.remove()
    assert len(ended) == 1
    assert report.written == [f"{quiet}/p"]
    assert [f["key"] for f in report.failed] == [{"run_id": live, "pipeline_id": "p"}]
    reason = report.failed[0]["reason"]
    assert "written by another writer since the batch read it (now SUCCESS" in reason
    stored = ours.runs.find_entity(live, "p", consistent=True)
    assert stored is not None
    assert (stored.status, stored.metrics) == (RunStatus.SUCCESS, {"rows": 99})
    written = ours.runs.find_entity(quiet, "p", consistent=True)
    assert written is not None
    assert (written.status, written.metrics) == (RunStatus.RUNNING, {"rows": 1})


def test_a_runs_batch_naming_a_run_twice_is_invalid_and_writes_nothing(writers: tuple[Registry, Registry]) -> None:
    ours, _ = writers
    run_id, other_id = f"run_{uuid.uuid4().hex[:10]}", f"run_{uuid.uuid4().hex[:10]}"
    with pytest.raises(ValidationError, match=f"run named twice in batch: \\['{run_id}/p'\\]"):
        ours.runs_write.batch_upsert([imported_run(run_id, 1), imported_run(other_id, 1), imported_run(run_id, 2)])
    assert ours.runs.find_entity(run_id, "p", consistent=True) is None
    assert ours.runs.find_entity(other_id, "p", consistent=True) is None
