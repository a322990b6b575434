"""The base of every model: camelCase on the wire, snake_case in Python, dict-style access too.

Response models keep fields the SDK does not know (``extra="allow"``), so a newer server never
breaks an older client. Request parameter models refuse unknown keys, so a typo is an error
raised before anything is sent.

Example::

    asset = Asset.model_validate({"id": "asset_1", "projectId": "proj_1", ...})
    asset.project_id == asset["project_id"] == asset["projectId"] == asset.get("project_id")
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from nexus_async._exceptions import InvalidInputError

__all__ = ["NexusModel", "ParamsModel", "coerce_params"]

ParamsT = TypeVar("ParamsT", bound="ParamsModel")


class NexusModel(BaseModel):
    """A response from the API.

    Attributes are snake_case; ``model["field"]`` and ``model.get("field")`` accept the snake_case
    name or the wire (camelCase) name, as the official SDK's examples use them.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        protected_namespaces=(),
    )

    def _attribute_name(self, key: str) -> str | None:
        fields = type(self).model_fields
        if key in fields:
            return key
        for name, info in fields.items():
            if info.alias == key:
                return name
        if self.model_extra and key in self.model_extra:
            return key
        return None

    def __getitem__(self, key: str) -> Any:
        name = self._attribute_name(key)
        if name is None:
            raise KeyError(key)
        return getattr(self, name)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._attribute_name(key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        """The field's value, or ``default`` when the model has no such field."""
        name = self._attribute_name(key)
        return default if name is None else getattr(self, name)

    def keys(self) -> Iterator[str]:
        """The snake_case names of the fields that are set, like a dict's keys."""
        yield from type(self).model_fields
        if self.model_extra:
            yield from self.model_extra

    def to_dict(self, *, by_alias: bool = False) -> dict[str, Any]:
        """The model as plain JSON-compatible data (snake_case keys unless ``by_alias``)."""
        return self.model_dump(mode="json", by_alias=by_alias, exclude_unset=False)


class ParamsModel(BaseModel):
    """Arguments of a request. Built from a dict or given directly; unknown keys are refused.

    ``to_wire()`` gives the JSON body: camelCase keys, ``None`` values left out.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        loc_by_alias=False,
        protected_namespaces=(),
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON the API expects for these parameters."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def coerce_params(model: type[ParamsT], value: ParamsT | Mapping[str, Any] | None) -> ParamsT:
    """Accept ``value`` as the params model itself or as a dict of its fields.

    Raises :class:`InvalidInputError` (before any request) when the value does not fit.
    """
    if isinstance(value, model):
        return value
    if value is None:
        value = {}
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_unset=True)
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f"{model.__name__} must be a dict or a {model.__name__}, got {type(value).__name__}"
        )
    try:
        return model.model_validate(dict(value))
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(value)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidInputError(f"Invalid {model.__name__}: {problems}") from None
