import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConfigureLineRequest(_message.Message):
    __slots__ = ("line_id", "takt", "heartbeat", "epoch", "frozen")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    TAKT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    FROZEN_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    takt: _duration_pb2.Duration
    heartbeat: _duration_pb2.Duration
    epoch: _timestamp_pb2.Timestamp
    frozen: _duration_pb2.Duration
    def __init__(self, line_id: _Optional[str] = ..., takt: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., heartbeat: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., epoch: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., frozen: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Line(_message.Message):
    __slots__ = ("line_id", "takt", "heartbeat", "epoch", "configured_at", "highest_call_no", "missing_calls", "duplicates", "last_broadcast_at", "active_vehicles", "frozen")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    TAKT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    CONFIGURED_AT_FIELD_NUMBER: _ClassVar[int]
    HIGHEST_CALL_NO_FIELD_NUMBER: _ClassVar[int]
    MISSING_CALLS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    LAST_BROADCAST_AT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_VEHICLES_FIELD_NUMBER: _ClassVar[int]
    FROZEN_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    takt: _duration_pb2.Duration
    heartbeat: _duration_pb2.Duration
    epoch: _timestamp_pb2.Timestamp
    configured_at: _timestamp_pb2.Timestamp
    highest_call_no: int
    missing_calls: int
    duplicates: int
    last_broadcast_at: _timestamp_pb2.Timestamp
    active_vehicles: int
    frozen: _duration_pb2.Duration
    def __init__(self, line_id: _Optional[str] = ..., takt: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., heartbeat: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., epoch: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., configured_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., highest_call_no: _Optional[int] = ..., missing_calls: _Optional[int] = ..., duplicates: _Optional[int] = ..., last_broadcast_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., active_vehicles: _Optional[int] = ..., frozen: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class GetLineRequest(_message.Message):
    __slots__ = ("line_id",)
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    def __init__(self, line_id: _Optional[str] = ...) -> None: ...

class ListLinesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListLinesResponse(_message.Message):
    __slots__ = ("lines",)
    LINES_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[Line]
    def __init__(self, lines: _Optional[_Iterable[_Union[Line, _Mapping]]] = ...) -> None: ...

class GetClockRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetClockRequest(_message.Message):
    __slots__ = ("now",)
    NOW_FIELD_NUMBER: _ClassVar[int]
    now: _timestamp_pb2.Timestamp
    def __init__(self, now: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ClockReading(_message.Message):
    __slots__ = ("now", "test_mode")
    NOW_FIELD_NUMBER: _ClassVar[int]
    TEST_MODE_FIELD_NUMBER: _ClassVar[int]
    now: _timestamp_pb2.Timestamp
    test_mode: bool
    def __init__(self, now: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., test_mode: _Optional[bool] = ...) -> None: ...
