import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BreakType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BREAK_TYPE_UNSPECIFIED: _ClassVar[BreakType]
    BREAK_TYPE_GAP: _ClassVar[BreakType]
    BREAK_TYPE_MISSING: _ClassVar[BreakType]
    BREAK_TYPE_ORPHAN: _ClassVar[BreakType]
    BREAK_TYPE_WRONG_VARIANT: _ClassVar[BreakType]
    BREAK_TYPE_DUPLICATE: _ClassVar[BreakType]
    BREAK_TYPE_OUT_OF_SEQUENCE: _ClassVar[BreakType]
    BREAK_TYPE_LATE: _ClassVar[BreakType]
    BREAK_TYPE_BROADCAST_SILENT: _ClassVar[BreakType]

class RecoveryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECOVERY_KIND_UNSPECIFIED: _ClassVar[RecoveryKind]
    RECOVERY_KIND_RESEND_CALLS: _ClassVar[RecoveryKind]
    RECOVERY_KIND_BUILD_PART: _ClassVar[RecoveryKind]
    RECOVERY_KIND_PULL_SLOT: _ClassVar[RecoveryKind]
    RECOVERY_KIND_MOVE_SLOT: _ClassVar[RecoveryKind]
    RECOVERY_KIND_REPLACE_VARIANT: _ClassVar[RecoveryKind]
    RECOVERY_KIND_EXPEDITE_RACK: _ClassVar[RecoveryKind]
    RECOVERY_KIND_CHECK_FEED: _ClassVar[RecoveryKind]
BREAK_TYPE_UNSPECIFIED: BreakType
BREAK_TYPE_GAP: BreakType
BREAK_TYPE_MISSING: BreakType
BREAK_TYPE_ORPHAN: BreakType
BREAK_TYPE_WRONG_VARIANT: BreakType
BREAK_TYPE_DUPLICATE: BreakType
BREAK_TYPE_OUT_OF_SEQUENCE: BreakType
BREAK_TYPE_LATE: BreakType
BREAK_TYPE_BROADCAST_SILENT: BreakType
RECOVERY_KIND_UNSPECIFIED: RecoveryKind
RECOVERY_KIND_RESEND_CALLS: RecoveryKind
RECOVERY_KIND_BUILD_PART: RecoveryKind
RECOVERY_KIND_PULL_SLOT: RecoveryKind
RECOVERY_KIND_MOVE_SLOT: RecoveryKind
RECOVERY_KIND_REPLACE_VARIANT: RecoveryKind
RECOVERY_KIND_EXPEDITE_RACK: RecoveryKind
RECOVERY_KIND_CHECK_FEED: RecoveryKind

class RecoveryAction(_message.Message):
    __slots__ = ("kind", "description", "vehicle_id", "part_number", "replacement_part_number", "rack_id", "from_position", "to_rack_id", "to_position", "first_call_no", "last_call_no")
    KIND_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_ID_FIELD_NUMBER: _ClassVar[int]
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REPLACEMENT_PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    RACK_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_POSITION_FIELD_NUMBER: _ClassVar[int]
    TO_RACK_ID_FIELD_NUMBER: _ClassVar[int]
    TO_POSITION_FIELD_NUMBER: _ClassVar[int]
    FIRST_CALL_NO_FIELD_NUMBER: _ClassVar[int]
    LAST_CALL_NO_FIELD_NUMBER: _ClassVar[int]
    kind: RecoveryKind
    description: str
    vehicle_id: str
    part_number: str
    replacement_part_number: str
    rack_id: str
    from_position: int
    to_rack_id: str
    to_position: int
    first_call_no: int
    last_call_no: int
    def __init__(self, kind: _Optional[_Union[RecoveryKind, str]] = ..., description: _Optional[str] = ..., vehicle_id: _Optional[str] = ..., part_number: _Optional[str] = ..., replacement_part_number: _Optional[str] = ..., rack_id: _Optional[str] = ..., from_position: _Optional[int] = ..., to_rack_id: _Optional[str] = ..., to_position: _Optional[int] = ..., first_call_no: _Optional[int] = ..., last_call_no: _Optional[int] = ...) -> None: ...

class SequenceBreak(_message.Message):
    __slots__ = ("break_id", "type", "line_id", "supplier_id", "group", "vehicle_id", "rack_id", "position", "first_call_no", "last_call_no", "slack", "detected_at", "resolved_at", "action", "need_time")
    BREAK_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_ID_FIELD_NUMBER: _ClassVar[int]
    RACK_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    FIRST_CALL_NO_FIELD_NUMBER: _ClassVar[int]
    LAST_CALL_NO_FIELD_NUMBER: _ClassVar[int]
    SLACK_FIELD_NUMBER: _ClassVar[int]
    DETECTED_AT_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    NEED_TIME_FIELD_NUMBER: _ClassVar[int]
    break_id: str
    type: BreakType
    line_id: str
    supplier_id: str
    group: str
    vehicle_id: str
    rack_id: str
    position: int
    first_call_no: int
    last_call_no: int
    slack: _duration_pb2.Duration
    detected_at: _timestamp_pb2.Timestamp
    resolved_at: _timestamp_pb2.Timestamp
    action: RecoveryAction
    need_time: _timestamp_pb2.Timestamp
    def __init__(self, break_id: _Optional[str] = ..., type: _Optional[_Union[BreakType, str]] = ..., line_id: _Optional[str] = ..., supplier_id: _Optional[str] = ..., group: _Optional[str] = ..., vehicle_id: _Optional[str] = ..., rack_id: _Optional[str] = ..., position: _Optional[int] = ..., first_call_no: _Optional[int] = ..., last_call_no: _Optional[int] = ..., slack: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., detected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., action: _Optional[_Union[RecoveryAction, _Mapping]] = ..., need_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListBreaksRequest(_message.Message):
    __slots__ = ("line_id", "supplier_id", "types", "resolved_from", "resolved_to", "page_size", "page_token")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_FROM_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_TO_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    supplier_id: str
    types: _containers.RepeatedScalarFieldContainer[BreakType]
    resolved_from: _timestamp_pb2.Timestamp
    resolved_to: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, line_id: _Optional[str] = ..., supplier_id: _Optional[str] = ..., types: _Optional[_Iterable[_Union[BreakType, str]]] = ..., resolved_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolved_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListBreaksResponse(_message.Message):
    __slots__ = ("breaks", "next_page_token")
    BREAKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    breaks: _containers.RepeatedCompositeFieldContainer[SequenceBreak]
    next_page_token: str
    def __init__(self, breaks: _Optional[_Iterable[_Union[SequenceBreak, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchBreaksRequest(_message.Message):
    __slots__ = ("line_id", "supplier_id", "types")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    supplier_id: str
    types: _containers.RepeatedScalarFieldContainer[BreakType]
    def __init__(self, line_id: _Optional[str] = ..., supplier_id: _Optional[str] = ..., types: _Optional[_Iterable[_Union[BreakType, str]]] = ...) -> None: ...

class BreakEvent(_message.Message):
    __slots__ = ("kind", "sequence_break", "snapshot")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[BreakEvent.Kind]
        KIND_RAISED: _ClassVar[BreakEvent.Kind]
        KIND_RESOLVED: _ClassVar[BreakEvent.Kind]
    KIND_UNSPECIFIED: BreakEvent.Kind
    KIND_RAISED: BreakEvent.Kind
    KIND_RESOLVED: BreakEvent.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_BREAK_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    kind: BreakEvent.Kind
    sequence_break: SequenceBreak
    snapshot: bool
    def __init__(self, kind: _Optional[_Union[BreakEvent.Kind, str]] = ..., sequence_break: _Optional[_Union[SequenceBreak, _Mapping]] = ..., snapshot: _Optional[bool] = ...) -> None: ...
