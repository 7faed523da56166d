"""Operations to and from JSON text, for the change table.

    [{"op": "create_team", "id": "t1", "organization_id": "o1", "display_name": ""}, ...]

Each operation is an object tagged with its name from OPERATION_NAMES; its other keys are
its fields. Nested dataclasses (Scope, Resource, ResourceRef) become objects, tuples become
arrays and come back as tuples. A field missing from a stored record takes its default, so
that an operation may gain a defaulted field without rewriting old records."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable, Iterable
from json.encoder import encode_basestring_ascii as _string  # what json.dumps uses, in C
from operator import attrgetter
from typing import Any

from authz.domain.operations import OPERATION_NAMES, Operation

_OPERATIONS_BY_NAME: dict[str, type] = {name: cls for cls, name in OPERATION_NAMES.items()}

Decoder = Callable[[Any], Any]
_OPERATION_ENCODERS: dict[type, Callable[[Any], str]] = {}  # with the "op" tag
_ENCODERS: dict[type, Callable[[Any], str]] = {}
_DECODERS: dict[type, Decoder] = {}


def encode(operations: Iterable[Operation]) -> str:
    """The JSON text that json.dumps(..., separators=(",", ":")) would write for the tagged
    objects, written directly: an Import records 10,000 operations per write, and building a
    dict per operation for json.dumps to walk cost several times the text itself."""
    parts = []
    for operation in operations:
        encoder = _OPERATION_ENCODERS.get(type(operation))
        if encoder is None:
            encoder = _operation_encoder(type(operation))
        parts.append(encoder(operation))
    return "[" + ",".join(parts) + "]"


def decode(text: str) -> tuple[Operation, ...]:
    items = json.loads(text)
    if not isinstance(items, list):
        raise ValueError("stored operations are not a JSON array")
    operations = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("op"), str):
            raise ValueError(f"stored operation {index} has no 'op' name")
        fields = dict(item)
        name = fields.pop("op")
        cls = _OPERATIONS_BY_NAME.get(name)
        if cls is None:
            raise ValueError(f"stored operation {index} has an unknown name {name!r}")
        operations.append(_decoder(cls)(fields))
    return tuple(operations)


def _operation_encoder(cls: type) -> Callable[[Any], str]:
    name = OPERATION_NAMES.get(cls)
    if name is None:
        raise TypeError(f"not an operation: {cls.__name__}")
    encoder = _OPERATION_ENCODERS[cls] = _object_encoder(cls, f'"op":{_string(name)}')
    return encoder


def _object_encoder(cls: type, tag: str = "") -> Callable[[Any], str]:
    """A function from an instance of the dataclass `cls` to its JSON object, built once from
    its field annotations: '{"<field>":<value>,...}' in field order, after `tag` if given."""
    if tag == "" and cls in _ENCODERS:
        return _ENCODERS[cls]
    hints = typing.get_type_hints(cls)
    fields = [(f"{_string(f.name)}:", attrgetter(f.name), _value_encoder(hints[f.name]))
              for f in dataclasses.fields(cls)]
    opening = "{" + tag + ("," if tag and fields else "")

    def encode_object(value: Any) -> str:
        return opening + ",".join([key + encoder(get(value)) for key, get, encoder in fields]) + "}"

    if tag == "":
        _ENCODERS[cls] = encode_object
    return encode_object


def _value_encoder(hint: Any) -> Callable[[Any], str]:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _object_encoder(hint)
    if typing.get_origin(hint) is tuple:
        item = _value_encoder(_tuple_item(hint))
        return lambda value: "[" + ",".join([item(v) for v in value]) + "]"
    if hint is str:
        return _string  # C; a non-string raises TypeError, as json.dumps would not
    if hint is bool:
        return _boolean
    if hint is int:
        return _integer
    if hint is float:
        return _float
    raise TypeError(f"cannot encode a field of type {hint}")


def _boolean(value: bool) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    raise TypeError(f"expected a bool, got {type(value).__name__}")


def _integer(value: int) -> str:
    if type(value) is not int:
        raise TypeError(f"expected an int, got {type(value).__name__}")
    return int.__repr__(value)


def _float(value: float) -> str:
    return json.dumps(float(value))


def _tuple_item(hint: Any) -> Any:
    args = typing.get_args(hint)
    if len(args) != 2 or args[1] is not Ellipsis:
        raise TypeError(f"only tuple[X, ...] fields are supported, not {hint}")
    return args[0]


def _decoder(cls: type) -> Decoder:
    """A function from a JSON object to an instance of the dataclass `cls`, built once from
    its (resolved) field annotations."""
    if cls in _DECODERS:
        return _DECODERS[cls]
    hints = typing.get_type_hints(cls)
    fields = {f.name: _value_decoder(hints[f.name]) for f in dataclasses.fields(cls)}

    def decode_object(data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(f"expected an object for {cls.__name__}, got {type(data).__name__}")
        unknown = data.keys() - fields.keys()
        if unknown:
            raise ValueError(f"{cls.__name__} has no field {min(unknown)!r}")
        return cls(**{name: fields[name](value) for name, value in data.items()})

    _DECODERS[cls] = decode_object
    return decode_object


def _value_decoder(hint: Any) -> Decoder:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decoder(hint)
    origin = typing.get_origin(hint)
    if origin is tuple:
        item = _value_decoder(_tuple_item(hint))
        return lambda data: tuple(item(v) for v in _checked(data, list))
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"union fields are not supported: {hint}")
    if hint in (str, bool):
        return lambda data: _checked(data, hint)
    if hint is int:
        return lambda data: _checked(data, int)
    if hint is float:
        return lambda data: float(_checked(data, (int, float)))
    raise TypeError(f"cannot decode a field of type {hint}")


def _checked(value: Any, expected: type | tuple[type, ...]) -> Any:
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ValueError(f"expected {expected}, got {type(value).__name__}")
    return value
