"""Read-side helpers shared by the three domains: view models and pages of results."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from functools import cache
from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict

from .model import RegistryModel, datetime_fields
from .timezones import resolve_user_timezone, timezone_name

V = TypeVar("V")


class ViewModel(BaseModel):
    """A read model: the entity's fields with every datetime shown in the user's timezone."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    display_timezone: str = "UTC"

    @classmethod
    def from_entity(cls, entity: RegistryModel, tz: str | tzinfo | None = None) -> Self:
        """The view of an (already validated) entity, its datetimes in ``tz``."""
        return cls.from_entities((entity,), tz)[0]

    @classmethod
    def from_entities(cls, entities: Iterable[RegistryModel], tz: str | tzinfo | None = None) -> list[Self]:
        """The views of (already validated) entities of one type, their datetimes in ``tz``.

        The zone and the field lists are resolved once for the whole page. The entities are
        validated already: each view is built without validating every field again (what
        ``model_construct`` does, minus its per-field default handling: all are present).
        """
        zone = resolve_user_timezone(tz)
        zone_name = timezone_name(zone)
        # stored datetimes are UTC: in UTC there is nothing to convert
        convert = () if zone is UTC else datetime_fields(cls)
        new, set_attr = cls.__new__, object.__setattr__
        views: list[Self] = []
        plan: _CopyPlan | None = None
        for entity in entities:
            if plan is None:
                plan = _copy_plan(cls, type(entity))
            stored = entity.__dict__
            if plan.extras is not None and len(stored) == plan.entity_fields:
                values = stored.copy()  # same fields in the same order, plus a few to drop
                for name in plan.extras:
                    del values[name]
            else:
                values = {name: stored[name] for name in plan.names}
            for name in convert:
                value = values.get(name)
                if value is not None:
                    values[name] = value.astimezone(zone)
            values["display_timezone"] = zone_name
            view = new(cls)
            set_attr(view, "__dict__", values)
            set_attr(view, "__pydantic_fields_set__", set(values))
            set_attr(view, "__pydantic_extra__", None)
            set_attr(view, "__pydantic_private__", None)
            view._localize(zone)
            views.append(view)
        return views

    def _localize(self, zone: tzinfo) -> None:
        """Show nested datetimes in ``zone`` too (a hook for views that have any)."""


@dataclass(frozen=True)
class _CopyPlan:
    """How a view's values are taken from an entity's ``__dict__``."""

    names: tuple[str, ...]
    #: entity fields the view lacks, when the shared fields come in the same order (else None)
    extras: tuple[str, ...] | None
    entity_fields: int


@cache
def _copy_plan(view: type[ViewModel], entity: type[RegistryModel]) -> _CopyPlan:
    names = _shared_fields(view, entity)
    in_order = tuple(name for name in entity.model_fields if name in names) == names
    extras = tuple(name for name in entity.model_fields if name not in names)
    return _CopyPlan(names, extras if in_order else None, len(entity.model_fields))


@cache
def _shared_fields(view: type[ViewModel], entity: type[RegistryModel]) -> tuple[str, ...]:
    names = tuple(name for name in view.model_fields if name != "display_timezone")
    missing = [name for name in names if name not in entity.model_fields]
    if missing:
        raise TypeError(f"{view.__name__} has fields {missing} that {entity.__name__} lacks")
    return names


@dataclass
class ResultPage(Generic[V]):
    """One page of a list: its items and an opaque, URL-safe token for the next page (or None)."""

    items: list[V]
    next_page_token: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[V]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def iterate_pages(fetch_page: Callable[[str | None], ResultPage[V]]) -> Iterator[V]:
    """Walk every page produced by ``fetch_page(page_token)``."""
    token: str | None = None
    while True:
        page = fetch_page(token)
        yield from page.items
        if not page.next_page_token:
            return
        token = page.next_page_token
