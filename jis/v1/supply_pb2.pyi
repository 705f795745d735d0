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

class SlotStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SLOT_STAGE_UNSPECIFIED: _ClassVar[SlotStage]
    SLOT_STAGE_BUILT: _ClassVar[SlotStage]
    SLOT_STAGE_IN_TRANSIT: _ClassVar[SlotStage]
    SLOT_STAGE_AT_DOCK: _ClassVar[SlotStage]
    SLOT_STAGE_LINE_SIDE: _ClassVar[SlotStage]
    SLOT_STAGE_CONSUMED: _ClassVar[SlotStage]
    SLOT_STAGE_RETURNED: _ClassVar[SlotStage]

class RackStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RACK_STAGE_UNSPECIFIED: _ClassVar[RackStage]
    RACK_STAGE_IN_TRANSIT: _ClassVar[RackStage]
    RACK_STAGE_AT_DOCK: _ClassVar[RackStage]
    RACK_STAGE_LINE_SIDE: _ClassVar[RackStage]
    RACK_STAGE_RETURNED: _ClassVar[RackStage]
SLOT_STAGE_UNSPECIFIED: SlotStage
SLOT_STAGE_BUILT: SlotStage
SLOT_STAGE_IN_TRANSIT: SlotStage
SLOT_STAGE_AT_DOCK: SlotStage
SLOT_STAGE_LINE_SIDE: SlotStage
SLOT_STAGE_CONSUMED: SlotStage
SLOT_STAGE_RETURNED: SlotStage
RACK_STAGE_UNSPECIFIED: RackStage
RACK_STAGE_IN_TRANSIT: RackStage
RACK_STAGE_AT_DOCK: RackStage
RACK_STAGE_LINE_SIDE: RackStage
RACK_STAGE_RETURNED: RackStage

class ConfigureSupplierRequest(_message.Message):
    __slots__ = ("supplier_id", "lead_time", "unload_to_line")
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_TIME_FIELD_NUMBER: _ClassVar[int]
    UNLOAD_TO_LINE_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    lead_time: _duration_pb2.Duration
    unload_to_line: _duration_pb2.Duration
    def __init__(self, supplier_id: _Optional[str] = ..., lead_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., unload_to_line: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Supplier(_message.Message):
    __slots__ = ("supplier_id", "lead_time", "unload_to_line")
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_TIME_FIELD_NUMBER: _ClassVar[int]
    UNLOAD_TO_LINE_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    lead_time: _duration_pb2.Duration
    unload_to_line: _duration_pb2.Duration
    def __init__(self, supplier_id: _Optional[str] = ..., lead_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., unload_to_line: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ReportBuildRequest(_message.Message):
    __slots__ = ("supplier_id", "group", "line_id", "vehicle_id", "part_number", "built_at")
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_ID_FIELD_NUMBER: _ClassVar[int]
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    BUILT_AT_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    group: str
    line_id: str
    vehicle_id: str
    part_number: str
    built_at: _timestamp_pb2.Timestamp
    def __init__(self, supplier_id: _Optional[str] = ..., group: _Optional[str] = ..., line_id: _Optional[str] = ..., vehicle_id: _Optional[str] = ..., part_number: _Optional[str] = ..., built_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Slot(_message.Message):
    __slots__ = ("slot_id", "supplier_id", "group", "line_id", "vehicle_id", "part_number", "built_at", "stage", "rack_id", "position")
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_ID_FIELD_NUMBER: _ClassVar[int]
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    BUILT_AT_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    RACK_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    slot_id: int
    supplier_id: str
    group: str
    line_id: str
    vehicle_id: str
    part_number: str
    built_at: _timestamp_pb2.Timestamp
    stage: SlotStage
    rack_id: str
    position: int
    def __init__(self, slot_id: _Optional[int] = ..., supplier_id: _Optional[str] = ..., group: _Optional[str] = ..., line_id: _Optional[str] = ..., vehicle_id: _Optional[str] = ..., part_number: _Optional[str] = ..., built_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stage: _Optional[_Union[SlotStage, str]] = ..., rack_id: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...

class RackSlot(_message.Message):
    __slots__ = ("vehicle_id", "part_number")
    VEHICLE_ID_FIELD_NUMBER: _ClassVar[int]
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    vehicle_id: str
    part_number: str
    def __init__(self, vehicle_id: _Optional[str] = ..., part_number: _Optional[str] = ...) -> None: ...

class DispatchRackRequest(_message.Message):
    __slots__ = ("rack_id", "supplier_id", "group", "line_id", "capacity", "slots", "dispatched_at", "eta")
    RACK_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    DISPATCHED_AT_FIELD_NUMBER: _ClassVar[int]
    ETA_FIELD_NUMBER: _ClassVar[int]
    rack_id: str
    supplier_id: str
    group: str
    line_id: str
    capacity: int
    slots: _containers.RepeatedCompositeFieldContainer[RackSlot]
    dispatched_at: _timestamp_pb2.Timestamp
    eta: _timestamp_pb2.Timestamp
    def __init__(self, rack_id: _Optional[str] = ..., supplier_id: _Optional[str] = ..., group: _Optional[str] = ..., line_id: _Optional[str] = ..., capacity: _Optional[int] = ..., slots: _Optional[_Iterable[_Union[RackSlot, _Mapping]]] = ..., dispatched_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., eta: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Rack(_message.Message):
    __slots__ = ("rack_id", "supplier_id", "group", "line_id", "capacity", "stage", "slots", "dispatched_at", "eta", "arrived_at", "line_side_at", "unloaded_at")
    RACK_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    DISPATCHED_AT_FIELD_NUMBER: _ClassVar[int]
    ETA_FIELD_NUMBER: _ClassVar[int]
    ARRIVED_AT_FIELD_NUMBER: _ClassVar[int]
    LINE_SIDE_AT_FIELD_NUMBER: _ClassVar[int]
    UNLOADED_AT_FIELD_NUMBER: _ClassVar[int]
    rack_id: str
    supplier_id: str
    group: str
    line_id: str
    capacity: int
    stage: RackStage
    slots: _containers.RepeatedCompositeFieldContainer[Slot]
    dispatched_at: _timestamp_pb2.Timestamp
    eta: _timestamp_pb2.Timestamp
    arrived_at: _timestamp_pb2.Timestamp
    line_side_at: _timestamp_pb2.Timestamp
    unloaded_at: _timestamp_pb2.Timestamp
    def __init__(self, rack_id: _Optional[str] = ..., supplier_id: _Optional[str] = ..., group: _Optional[str] = ..., line_id: _Optional[str] = ..., capacity: _Optional[int] = ..., stage: _Optional[_Union[RackStage, str]] = ..., slots: _Optional[_Iterable[_Union[Slot, _Mapping]]] = ..., dispatched_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., eta: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., arrived_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., line_side_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., unloaded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MoveRackRequest(_message.Message):
    __slots__ = ("rack_id", "stage", "at")
    RACK_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    rack_id: str
    stage: RackStage
    at: _timestamp_pb2.Timestamp
    def __init__(self, rack_id: _Optional[str] = ..., stage: _Optional[_Union[RackStage, str]] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpdateRackEtaRequest(_message.Message):
    __slots__ = ("rack_id", "eta")
    RACK_ID_FIELD_NUMBER: _ClassVar[int]
    ETA_FIELD_NUMBER: _ClassVar[int]
    rack_id: str
    eta: _timestamp_pb2.Timestamp
    def __init__(self, rack_id: _Optional[str] = ..., eta: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetRackRequest(_message.Message):
    __slots__ = ("rack_id",)
    RACK_ID_FIELD_NUMBER: _ClassVar[int]
    rack_id: str
    def __init__(self, rack_id: _Optional[str] = ...) -> None: ...
