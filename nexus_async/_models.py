"""The base of every model: camelCase on the wire, snake_case in Python, dict-style access too.

Response models read the wire's camelCase names but serialise as they look in Python,
snake_case, whatever the serialiser (``model_dump()``, ``model_dump(by_alias=True)``, a FastAPI
``response_model``): a service that returns SDK models answers with the names its code uses.
``to_dict(by_alias=True)`` gives the wire names back. They keep fields the SDK does not know
(``extra="allow"``), so a newer server never breaks an older client. Request parameter models
refuse unknown keys, so a typo is an error raised before anything is sent, and serialise to the
wire's camelCase (``to_wire()``).

Example::

    asset = Asset.model_validate({"id": "asset_1", "projectId": "proj_1", ...})
    asset.project_id == asset["project_id"] == asset["projectId"] == asset.get("project_id")
    asset.model_dump()["project_id"]; asset.to_dict(by_alias=True)["projectId"]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

import pydantic
from pydantic import (
    AliasGenerator,
    BaseModel,
    ConfigDict,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from nexus_async._exceptions import InvalidInputError

__all__ = ["NexusModel", "ParamsModel", "coerce_params", "wire_name"]

ParamsT = TypeVar("ParamsT", bound="ParamsModel")
_WIRE = "nexus_async_wire_names"


def wire_name(name: str) -> str:
    """The wire's camelCase for a snake_case field name: ``part_count`` -> ``partCount``,
    ``crc32c`` -> ``crc32c`` (only a letter after an underscore is capitalised)."""
    first, *rest = name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


class NexusModel(BaseModel):
    """A response from the API.

    Attributes are snake_case; ``model["field"]`` and ``model.get("field")`` accept the snake_case
    name or the wire (camelCase) name, as the official SDK's examples use them.
    """

    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=wire_name),
        populate_by_name=True,
        extra="allow",
        protected_namespaces=(),
    )

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        context = info.context
        if isinstance(context, dict) and context.get(_WIRE) and isinstance(data, dict):
            names = {
                name: _wire_alias(name, field) for name, field in type(self).model_fields.items()
            }
            return {names.get(key, key): value for key, value in data.items()}
        return data

    def _attribute_name(self, key: str) -> str | None:
        fields = type(self).model_fields
        if key in fields:
            return key
        for name, info in fields.items():
            if _wire_alias(name, info) == key:
                return name
        if self.model_extra and key in self.model_extra:
            return key
        if isinstance(getattr(type(self), key, None), property):
            return key  # a documented alias, e.g. Asset.project
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
        """The model as plain JSON-compatible data: snake_case keys, or the wire's names with
        ``by_alias=True`` (keys of user data such as custom metadata are kept as they are)."""
        return self.model_dump(mode="json", context={_WIRE: by_alias}, exclude_unset=False)


def _wire_alias(name: str, field: pydantic.fields.FieldInfo) -> str:
    alias = field.validation_alias
    return alias if isinstance(alias, str) else name


class ParamsModel(BaseModel):
    """Arguments of a request. Built from a dict or given directly; unknown keys are refused.

    ``to_wire()`` gives the JSON body: camelCase keys, ``None`` values left out.
    """

    model_config = ConfigDict(
        alias_generator=wire_name,
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
    if isinstance(value, NexusModel):
        raise InvalidInputError(
            f"expected a dict or a {model.__name__}, got a {type(value).__name__} (an API "
            f"response); the fields of {model.__name__} are: {', '.join(model.model_fields)}"
        )
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
