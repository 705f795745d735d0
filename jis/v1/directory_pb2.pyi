from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AssignLineRequest(_message.Message):
    __slots__ = ("line_id", "group")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    group: str
    def __init__(self, line_id: _Optional[str] = ..., group: _Optional[str] = ...) -> None: ...

class MoveLineRequest(_message.Message):
    __slots__ = ("line_id", "group")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    group: str
    def __init__(self, line_id: _Optional[str] = ..., group: _Optional[str] = ...) -> None: ...

class LineAssignment(_message.Message):
    __slots__ = ("line_id", "group", "addresses")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    group: str
    addresses: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, line_id: _Optional[str] = ..., group: _Optional[str] = ..., addresses: _Optional[_Iterable[str]] = ...) -> None: ...

class ListAssignmentsRequest(_message.Message):
    __slots__ = ("line_ids",)
    LINE_IDS_FIELD_NUMBER: _ClassVar[int]
    line_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, line_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListAssignmentsResponse(_message.Message):
    __slots__ = ("assignments", "group")
    ASSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    assignments: _containers.RepeatedCompositeFieldContainer[LineAssignment]
    group: str
    def __init__(self, assignments: _Optional[_Iterable[_Union[LineAssignment, _Mapping]]] = ..., group: _Optional[str] = ...) -> None: ...
