import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BuildSequenceChangeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUILD_SEQUENCE_CHANGE_KIND_UNSPECIFIED: _ClassVar[BuildSequenceChangeKind]
    BUILD_SEQUENCE_CHANGE_KIND_ADDED: _ClassVar[BuildSequenceChangeKind]
    BUILD_SEQUENCE_CHANGE_KIND_CHANGED: _ClassVar[BuildSequenceChangeKind]
    BUILD_SEQUENCE_CHANGE_KIND_REMOVED: _ClassVar[BuildSequenceChangeKind]
    BUILD_SEQUENCE_CHANGE_KIND_PULLED: _ClassVar[BuildSequenceChangeKind]
    BUILD_SEQUENCE_CHANGE_KIND_REINSERTED: _ClassVar[BuildSequenceChangeKind]
    BUILD_SEQUENCE_CHANGE_KIND_CANCELLED: _ClassVar[BuildSequenceChangeKind]
    BUILD_SEQUENCE_CHANGE_KIND_INSTALLED: _ClassVar[BuildSequenceChangeKind]
BUILD_SEQUENCE_CHANGE_KIND_UNSPECIFIED: BuildSequenceChangeKind
BUILD_SEQUENCE_CHANGE_KIND_ADDED: BuildSequenceChangeKind
BUILD_SEQUENCE_CHANGE_KIND_CHANGED: BuildSequenceChangeKind
BUILD_SEQUENCE_CHANGE_KIND_REMOVED: BuildSequenceChangeKind
BUILD_SEQUENCE_CHANGE_KIND_PULLED: BuildSequenceChangeKind
BUILD_SEQUENCE_CHANGE_KIND_REINSERTED: BuildSequenceChangeKind
BUILD_SEQUENCE_CHANGE_KIND_CANCELLED: BuildSequenceChangeKind
BUILD_SEQUENCE_CHANGE_KIND_INSTALLED: BuildSequenceChangeKind

class GetBuildSequenceRequest(_message.Message):
    __slots__ = ("line_id", "supplier_id", "group", "from_seq_no")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    supplier_id: str
    group: str
    from_seq_no: int
    def __init__(self, line_id: _Optional[str] = ..., supplier_id: _Optional[str] = ..., group: _Optional[str] = ..., from_seq_no: _Optional[int] = ...) -> None: ...

class WatchBuildSequenceRequest(_message.Message):
    __slots__ = ("line_id", "supplier_id", "group", "from_seq_no", "after_cursor")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    AFTER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    supplier_id: str
    group: str
    from_seq_no: int
    after_cursor: int
    def __init__(self, line_id: _Optional[str] = ..., supplier_id: _Optional[str] = ..., group: _Optional[str] = ..., from_seq_no: _Optional[int] = ..., after_cursor: _Optional[int] = ...) -> None: ...

class BuildSequenceEntry(_message.Message):
    __slots__ = ("vehicle_id", "seq_no", "part_number", "quantity", "need_time")
    VEHICLE_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    NEED_TIME_FIELD_NUMBER: _ClassVar[int]
    vehicle_id: str
    seq_no: int
    part_number: str
    quantity: int
    need_time: _timestamp_pb2.Timestamp
    def __init__(self, vehicle_id: _Optional[str] = ..., seq_no: _Optional[int] = ..., part_number: _Optional[str] = ..., quantity: _Optional[int] = ..., need_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BuildSequence(_message.Message):
    __slots__ = ("line_id", "supplier_id", "group", "cursor", "entries")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    supplier_id: str
    group: str
    cursor: int
    entries: _containers.RepeatedCompositeFieldContainer[BuildSequenceEntry]
    def __init__(self, line_id: _Optional[str] = ..., supplier_id: _Optional[str] = ..., group: _Optional[str] = ..., cursor: _Optional[int] = ..., entries: _Optional[_Iterable[_Union[BuildSequenceEntry, _Mapping]]] = ...) -> None: ...

class BuildSequenceChange(_message.Message):
    __slots__ = ("cursor", "kind", "entry", "previous_seq_no", "previous_part_number", "call_no", "applied_at")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CALL_NO_FIELD_NUMBER: _ClassVar[int]
    APPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    cursor: int
    kind: BuildSequenceChangeKind
    entry: BuildSequenceEntry
    previous_seq_no: int
    previous_part_number: str
    call_no: int
    applied_at: _timestamp_pb2.Timestamp
    def __init__(self, cursor: _Optional[int] = ..., kind: _Optional[_Union[BuildSequenceChangeKind, str]] = ..., entry: _Optional[_Union[BuildSequenceEntry, _Mapping]] = ..., previous_seq_no: _Optional[int] = ..., previous_part_number: _Optional[str] = ..., call_no: _Optional[int] = ..., applied_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BuildSequenceChanges(_message.Message):
    __slots__ = ("changes",)
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[BuildSequenceChange]
    def __init__(self, changes: _Optional[_Iterable[_Union[BuildSequenceChange, _Mapping]]] = ...) -> None: ...

class BuildSequenceUpdate(_message.Message):
    __slots__ = ("snapshot", "changes")
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    snapshot: BuildSequence
    changes: BuildSequenceChanges
    def __init__(self, snapshot: _Optional[_Union[BuildSequence, _Mapping]] = ..., changes: _Optional[_Union[BuildSequenceChanges, _Mapping]] = ...) -> None: ...
