"""Read-side helpers shared by the three domains: view models and pages of results."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Generic, Self, TypeVar, cast

from pydantic import BaseModel, ConfigDict

from .model import RegistryModel
from .timezones import resolve_user_timezone, timezone_name

V = TypeVar("V")


class ViewModel(BaseModel):
    """A read model: the entity's fields with every datetime shown in the user's timezone."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    display_timezone: str = "UTC"

    @classmethod
    def from_entity(cls, entity: RegistryModel, tz: str | tzinfo | None = None) -> Self:
        zone = resolve_user_timezone(tz)
        data: dict[str, Any] = {}
        for name in type(entity).model_fields:
            value = getattr(entity, name)
            data[name] = value.astimezone(zone) if isinstance(value, datetime) else value
        data["display_timezone"] = timezone_name(zone)
        # the entity is already validated: build the view without validating every field again
        view = cls.model_construct(**{name: data[name] for name in cls.model_fields if name in data})
        return cast(Self, view)


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
