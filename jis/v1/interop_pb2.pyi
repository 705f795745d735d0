from jis.v1 import broadcast_pb2 as _broadcast_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImportDeljitRequest(_message.Message):
    __slots__ = ("interchange", "call_no_from_bgm")
    INTERCHANGE_FIELD_NUMBER: _ClassVar[int]
    CALL_NO_FROM_BGM_FIELD_NUMBER: _ClassVar[int]
    interchange: bytes
    call_no_from_bgm: bool
    def __init__(self, interchange: _Optional[bytes] = ..., call_no_from_bgm: _Optional[bool] = ...) -> None: ...

class DeljitMessageResult(_message.Message):
    __slots__ = ("reference", "accepted", "error", "segment_position", "segment_tag", "results")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_POSITION_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_TAG_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    reference: str
    accepted: bool
    error: str
    segment_position: int
    segment_tag: str
    results: _containers.RepeatedCompositeFieldContainer[_broadcast_pb2.BroadcastResult]
    def __init__(self, reference: _Optional[str] = ..., accepted: _Optional[bool] = ..., error: _Optional[str] = ..., segment_position: _Optional[int] = ..., segment_tag: _Optional[str] = ..., results: _Optional[_Iterable[_Union[_broadcast_pb2.BroadcastResult, _Mapping]]] = ...) -> None: ...

class ImportDeljitResponse(_message.Message):
    __slots__ = ("interchange_reference", "messages", "applied", "duplicates", "rejected", "messages_refused")
    INTERCHANGE_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_REFUSED_FIELD_NUMBER: _ClassVar[int]
    interchange_reference: str
    messages: _containers.RepeatedCompositeFieldContainer[DeljitMessageResult]
    applied: int
    duplicates: int
    rejected: int
    messages_refused: int
    def __init__(self, interchange_reference: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[DeljitMessageResult, _Mapping]]] = ..., applied: _Optional[int] = ..., duplicates: _Optional[int] = ..., rejected: _Optional[int] = ..., messages_refused: _Optional[int] = ...) -> None: ...

class ExportDesadvRequest(_message.Message):
    __slots__ = ("rack_ids", "sender", "recipient", "appointment_id", "include_seq_no")
    RACK_IDS_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    rack_ids: _containers.RepeatedScalarFieldContainer[str]
    sender: str
    recipient: str
    appointment_id: str
    include_seq_no: bool
    def __init__(self, rack_ids: _Optional[_Iterable[str]] = ..., sender: _Optional[str] = ..., recipient: _Optional[str] = ..., appointment_id: _Optional[str] = ..., include_seq_no: _Optional[bool] = ...) -> None: ...

class Desadv(_message.Message):
    __slots__ = ("interchange", "reference", "racks")
    INTERCHANGE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    RACKS_FIELD_NUMBER: _ClassVar[int]
    interchange: bytes
    reference: str
    racks: int
    def __init__(self, interchange: _Optional[bytes] = ..., reference: _Optional[str] = ..., racks: _Optional[int] = ...) -> None: ...
