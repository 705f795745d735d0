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

class BroadcastColumns(_message.Message):
    __slots__ = ("line_ids", "line", "call_no", "action", "vehicle_id", "seq_no", "seq_no_absent", "checkpoints", "checkpoint", "event_time_ns", "need_time_ns", "part_count", "groups", "part_numbers", "supplier_ids", "part_group", "part_number", "part_supplier", "part_quantity")
    LINE_IDS_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    CALL_NO_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    SEQ_NO_ABSENT_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    NEED_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    PART_COUNT_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    PART_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_IDS_FIELD_NUMBER: _ClassVar[int]
    PART_GROUP_FIELD_NUMBER: _ClassVar[int]
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PART_SUPPLIER_FIELD_NUMBER: _ClassVar[int]
    PART_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    line_ids: _containers.RepeatedScalarFieldContainer[str]
    line: _containers.RepeatedScalarFieldContainer[int]
    call_no: _containers.RepeatedScalarFieldContainer[int]
    action: _containers.RepeatedScalarFieldContainer[_common_pb2.Action]
    vehicle_id: _containers.RepeatedScalarFieldContainer[str]
    seq_no: _containers.RepeatedScalarFieldContainer[int]
    seq_no_absent: _containers.RepeatedScalarFieldContainer[int]
    checkpoints: _containers.RepeatedScalarFieldContainer[str]
    checkpoint: _containers.RepeatedScalarFieldContainer[int]
    event_time_ns: _containers.RepeatedScalarFieldContainer[int]
    need_time_ns: _containers.RepeatedScalarFieldContainer[int]
    part_count: _containers.RepeatedScalarFieldContainer[int]
    groups: _containers.RepeatedScalarFieldContainer[str]
    part_numbers: _containers.RepeatedScalarFieldContainer[str]
    supplier_ids: _containers.RepeatedScalarFieldContainer[str]
    part_group: _containers.RepeatedScalarFieldContainer[int]
    part_number: _containers.RepeatedScalarFieldContainer[int]
    part_supplier: _containers.RepeatedScalarFieldContainer[int]
    part_quantity: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, line_ids: _Optional[_Iterable[str]] = ..., line: _Optional[_Iterable[int]] = ..., call_no: _Optional[_Iterable[int]] = ..., action: _Optional[_Iterable[_Union[_common_pb2.Action, str]]] = ..., vehicle_id: _Optional[_Iterable[str]] = ..., seq_no: _Optional[_Iterable[int]] = ..., seq_no_absent: _Optional[_Iterable[int]] = ..., checkpoints: _Optional[_Iterable[str]] = ..., checkpoint: _Optional[_Iterable[int]] = ..., event_time_ns: _Optional[_Iterable[int]] = ..., need_time_ns: _Optional[_Iterable[int]] = ..., part_count: _Optional[_Iterable[int]] = ..., groups: _Optional[_Iterable[str]] = ..., part_numbers: _Optional[_Iterable[str]] = ..., supplier_ids: _Optional[_Iterable[str]] = ..., part_group: _Optional[_Iterable[int]] = ..., part_number: _Optional[_Iterable[int]] = ..., part_supplier: _Optional[_Iterable[int]] = ..., part_quantity: _Optional[_Iterable[int]] = ...) -> None: ...

class Rejection(_message.Message):
    __slots__ = ("index", "code", "message", "field")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    index: int
    code: int
    message: str
    field: str
    def __init__(self, index: _Optional[int] = ..., code: _Optional[int] = ..., message: _Optional[str] = ..., field: _Optional[str] = ...) -> None: ...

class PublishColumnsResponse(_message.Message):
    __slots__ = ("applied", "duplicates", "rejected", "disposition", "rejections")
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    DISPOSITION_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    applied: int
    duplicates: int
    rejected: int
    disposition: _containers.RepeatedScalarFieldContainer[Disposition]
    rejections: _containers.RepeatedCompositeFieldContainer[Rejection]
    def __init__(self, applied: _Optional[int] = ..., duplicates: _Optional[int] = ..., rejected: _Optional[int] = ..., disposition: _Optional[_Iterable[_Union[Disposition, str]]] = ..., rejections: _Optional[_Iterable[_Union[Rejection, _Mapping]]] = ...) -> None: ...
