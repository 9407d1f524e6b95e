"""Read-side helpers shared by the three domains: view models and pages of results."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
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
        zone = resolve_user_timezone(tz)
        stored = entity.__dict__
        values = {name: stored[name] for name in _shared_fields(cls, type(entity))}
        for name in datetime_fields(cls):
            value = values.get(name)
            if value is not None:
                values[name] = value.astimezone(zone)
        values["display_timezone"] = timezone_name(zone)
        # The entity is validated already: build the view without validating every field again
        # (what ``model_construct`` does, minus its per-field default handling: all are present).
        view = cls.__new__(cls)
        object.__setattr__(view, "__dict__", values)
        object.__setattr__(view, "__pydantic_fields_set__", set(values))
        object.__setattr__(view, "__pydantic_extra__", None)
        object.__setattr__(view, "__pydantic_private__", None)
        return view


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
