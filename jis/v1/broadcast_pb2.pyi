import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from jis.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Disposition(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISPOSITION_UNSPECIFIED: _ClassVar[Disposition]
    DISPOSITION_APPLIED: _ClassVar[Disposition]
    DISPOSITION_DUPLICATE: _ClassVar[Disposition]
    DISPOSITION_REJECTED: _ClassVar[Disposition]
DISPOSITION_UNSPECIFIED: Disposition
DISPOSITION_APPLIED: Disposition
DISPOSITION_DUPLICATE: Disposition
DISPOSITION_REJECTED: Disposition

class Broadcast(_message.Message):
    __slots__ = ("line_id", "call_no", "action", "vehicle_id", "seq_no", "checkpoint", "event_time", "need_time", "parts")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_NO_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    NEED_TIME_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    call_no: int
    action: _common_pb2.Action
    vehicle_id: str
    seq_no: int
    checkpoint: str
    event_time: _timestamp_pb2.Timestamp
    need_time: _timestamp_pb2.Timestamp
    parts: _containers.RepeatedCompositeFieldContainer[_common_pb2.Part]
    def __init__(self, line_id: _Optional[str] = ..., call_no: _Optional[int] = ..., action: _Optional[_Union[_common_pb2.Action, str]] = ..., vehicle_id: _Optional[str] = ..., seq_no: _Optional[int] = ..., checkpoint: _Optional[str] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., need_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., parts: _Optional[_Iterable[_Union[_common_pb2.Part, _Mapping]]] = ...) -> None: ...

class PublishRequest(_message.Message):
    __slots__ = ("broadcast",)
    BROADCAST_FIELD_NUMBER: _ClassVar[int]
    broadcast: Broadcast
    def __init__(self, broadcast: _Optional[_Union[Broadcast, _Mapping]] = ...) -> None: ...

class PublishResponse(_message.Message):
    __slots__ = ("disposition", "line_id", "call_no", "highest_call_no")
    DISPOSITION_FIELD_NUMBER: _ClassVar[int]
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_NO_FIELD_NUMBER: _ClassVar[int]
    HIGHEST_CALL_NO_FIELD_NUMBER: _ClassVar[int]
    disposition: Disposition
    line_id: str
    call_no: int
    highest_call_no: int
    def __init__(self, disposition: _Optional[_Union[Disposition, str]] = ..., line_id: _Optional[str] = ..., call_no: _Optional[int] = ..., highest_call_no: _Optional[int] = ...) -> None: ...

class PublishBatchRequest(_message.Message):
    __slots__ = ("broadcasts",)
    BROADCASTS_FIELD_NUMBER: _ClassVar[int]
    broadcasts: _containers.RepeatedCompositeFieldContainer[Broadcast]
    def __init__(self, broadcasts: _Optional[_Iterable[_Union[Broadcast, _Mapping]]] = ...) -> None: ...

class BroadcastResult(_message.Message):
    __slots__ = ("line_id", "call_no", "disposition", "code", "message", "field")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_NO_FIELD_NUMBER: _ClassVar[int]
    DISPOSITION_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    call_no: int
    disposition: Disposition
    code: int
    message: str
    field: str
    def __init__(self, line_id: _Optional[str] = ..., call_no: _Optional[int] = ..., disposition: _Optional[_Union[Disposition, str]] = ..., code: _Optional[int] = ..., message: _Optional[str] = ..., field: _Optional[str] = ...) -> None: ...

class PublishBatchResponse(_message.Message):
    __slots__ = ("results", "applied", "duplicates", "rejected")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[BroadcastResult]
    applied: int
    duplicates: int
    rejected: int
    def __init__(self, results: _Optional[_Iterable[_Union[BroadcastResult, _Mapping]]] = ..., applied: _Optional[int] = ..., duplicates: _Optional[int] = ..., rejected: _Optional[int] = ...) -> None: ...
