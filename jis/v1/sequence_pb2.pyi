import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from jis.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetVehicleRequest(_message.Message):
    __slots__ = ("vehicle_id",)
    VEHICLE_ID_FIELD_NUMBER: _ClassVar[int]
    vehicle_id: str
    def __init__(self, vehicle_id: _Optional[str] = ...) -> None: ...

class Vehicle(_message.Message):
    __slots__ = ("vehicle_id", "line_id", "state", "seq_no", "checkpoint", "need_time", "event_time", "parts", "last_call_no")
    VEHICLE_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    NEED_TIME_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    LAST_CALL_NO_FIELD_NUMBER: _ClassVar[int]
    vehicle_id: str
    line_id: str
    state: _common_pb2.VehicleState
    seq_no: int
    checkpoint: str
    need_time: _timestamp_pb2.Timestamp
    event_time: _timestamp_pb2.Timestamp
    parts: _containers.RepeatedCompositeFieldContainer[_common_pb2.Part]
    last_call_no: int
    def __init__(self, vehicle_id: _Optional[str] = ..., line_id: _Optional[str] = ..., state: _Optional[_Union[_common_pb2.VehicleState, str]] = ..., seq_no: _Optional[int] = ..., checkpoint: _Optional[str] = ..., need_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., parts: _Optional[_Iterable[_Union[_common_pb2.Part, _Mapping]]] = ..., last_call_no: _Optional[int] = ...) -> None: ...

class ListSequenceRequest(_message.Message):
    __slots__ = ("line_id", "from_seq_no", "to_seq_no", "page_size", "page_token")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    TO_SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    from_seq_no: int
    to_seq_no: int
    page_size: int
    page_token: str
    def __init__(self, line_id: _Optional[str] = ..., from_seq_no: _Optional[int] = ..., to_seq_no: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSequenceResponse(_message.Message):
    __slots__ = ("vehicles", "next_page_token")
    VEHICLES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    vehicles: _containers.RepeatedCompositeFieldContainer[Vehicle]
    next_page_token: str
    def __init__(self, vehicles: _Optional[_Iterable[_Union[Vehicle, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
