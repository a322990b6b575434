"""Cursor pagination (nexus-api.md §2.11): one page as a model, and a lazy walk over all pages.

Example::

    page = await project.assets.list({"limit": 2})
    page["next_page"], page.data[0].filename
    async for asset in project.assets.iter(filters={"groups": ["main"]}):
        ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from pydantic import Field, StrictInt

from nexus_async._constants import MAX_PAGE_LIMIT
from nexus_async._models import NexusModel, ParamsModel, coerce_params

__all__ = ["Page", "Pagination", "iterate_pages", "resolve_pagination"]

ItemT = TypeVar("ItemT")


class Pagination(ParamsModel):
    """Which page to fetch: ``page`` is the cursor from ``next_page``/``prev_page``."""

    page: str | None = None
    limit: StrictInt | None = Field(default=None, ge=1, le=MAX_PAGE_LIMIT)


class Page(NexusModel, Generic[ItemT]):
    """One page of results. Iterating a page yields its items; ``len(page)`` counts them."""

    next_page: str | None = None
    prev_page: str | None = None
    data: list[ItemT] = Field(default_factory=list)

    @property
    def previous_page(self) -> str | None:
        """``prev_page``, under the name the batch-dataset documentation prints."""
        return self.prev_page

    def __iter__(self) -> Iterator[ItemT]:  # type: ignore[override]
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def resolve_pagination(
    pagination: Pagination | Mapping[str, Any] | None,
    *,
    page: str | None,
    limit: int | None,
    default_limit: int,
) -> dict[str, object]:
    """The ``page``/``limit`` query of a list call from a dict, a model or keyword arguments
    (keywords win). ``limit`` is always sent, as the official client does."""
    params = coerce_params(Pagination, pagination)
    overrides = {k: v for k, v in {"page": page, "limit": limit}.items() if v is not None}
    if overrides:
        params = coerce_params(Pagination, {**params.model_dump(exclude_none=True), **overrides})
    return {"page": params.page, "limit": params.limit or default_limit}


async def iterate_pages(
    fetch: Callable[[str | None], Awaitable[Page[ItemT]]],
) -> AsyncIterator[ItemT]:
    """Yield every item of every page, fetching the next page only when it is needed."""
    cursor: str | None = None
    while True:
        page = await fetch(cursor)
        for item in page.data:
            yield item
        if not page.next_page or page.next_page == cursor:
            return
        cursor = page.next_page
