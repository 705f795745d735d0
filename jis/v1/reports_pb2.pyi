import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from jis.v1 import breaks_pb2 as _breaks_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WatchDemandRequest(_message.Message):
    __slots__ = ("supplier_id", "line_id", "group", "to", "bucket", "interval")
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    line_id: str
    group: str
    to: _timestamp_pb2.Timestamp
    bucket: _duration_pb2.Duration
    interval: _duration_pb2.Duration
    def __init__(self, supplier_id: _Optional[str] = ..., line_id: _Optional[str] = ..., group: _Optional[str] = ..., to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bucket: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., **kwargs) -> None: ...

class DemandChanges(_message.Message):
    __slots__ = ("at", "rows")
    AT_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    rows: _containers.RepeatedCompositeFieldContainer[DemandRow]
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rows: _Optional[_Iterable[_Union[DemandRow, _Mapping]]] = ...) -> None: ...

class DemandUpdate(_message.Message):
    __slots__ = ("snapshot", "changes")
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    snapshot: Demand
    changes: DemandChanges
    def __init__(self, snapshot: _Optional[_Union[Demand, _Mapping]] = ..., changes: _Optional[_Union[DemandChanges, _Mapping]] = ...) -> None: ...

class GetDemandRequest(_message.Message):
    __slots__ = ("supplier_id", "line_id", "group", "to", "bucket", "changes_since")
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    CHANGES_SINCE_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    line_id: str
    group: str
    to: _timestamp_pb2.Timestamp
    bucket: _duration_pb2.Duration
    changes_since: _timestamp_pb2.Timestamp
    def __init__(self, supplier_id: _Optional[str] = ..., line_id: _Optional[str] = ..., group: _Optional[str] = ..., to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bucket: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., changes_since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., **kwargs) -> None: ...

class DemandRow(_message.Message):
    __slots__ = ("line_id", "group", "part_number", "quantity", "covered", "frozen", "up", "down")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    COVERED_FIELD_NUMBER: _ClassVar[int]
    FROZEN_FIELD_NUMBER: _ClassVar[int]
    UP_FIELD_NUMBER: _ClassVar[int]
    DOWN_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    group: str
    part_number: str
    quantity: _containers.RepeatedScalarFieldContainer[int]
    covered: _containers.RepeatedScalarFieldContainer[int]
    frozen: _containers.RepeatedScalarFieldContainer[int]
    up: _containers.RepeatedScalarFieldContainer[int]
    down: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, line_id: _Optional[str] = ..., group: _Optional[str] = ..., part_number: _Optional[str] = ..., quantity: _Optional[_Iterable[int]] = ..., covered: _Optional[_Iterable[int]] = ..., frozen: _Optional[_Iterable[int]] = ..., up: _Optional[_Iterable[int]] = ..., down: _Optional[_Iterable[int]] = ...) -> None: ...

class Demand(_message.Message):
    __slots__ = ("at", "supplier_id", "to", "bucket", "rows")
    AT_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    supplier_id: str
    to: _timestamp_pb2.Timestamp
    bucket: _duration_pb2.Duration
    rows: _containers.RepeatedCompositeFieldContainer[DemandRow]
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., supplier_id: _Optional[str] = ..., to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bucket: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., rows: _Optional[_Iterable[_Union[DemandRow, _Mapping]]] = ..., **kwargs) -> None: ...

class GetInventoryRequest(_message.Message):
    __slots__ = ("line_id", "supplier_id", "group")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    supplier_id: str
    group: str
    def __init__(self, line_id: _Optional[str] = ..., supplier_id: _Optional[str] = ..., group: _Optional[str] = ...) -> None: ...

class ScopeInventory(_message.Message):
    __slots__ = ("line_id", "supplier_id", "group", "expected", "planned", "built", "in_transit", "at_dock", "line_side", "consumed", "covered_vehicles", "covered_vehicles_at_plant", "coverage", "plant_coverage")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    PLANNED_FIELD_NUMBER: _ClassVar[int]
    BUILT_FIELD_NUMBER: _ClassVar[int]
    IN_TRANSIT_FIELD_NUMBER: _ClassVar[int]
    AT_DOCK_FIELD_NUMBER: _ClassVar[int]
    LINE_SIDE_FIELD_NUMBER: _ClassVar[int]
    CONSUMED_FIELD_NUMBER: _ClassVar[int]
    COVERED_VEHICLES_FIELD_NUMBER: _ClassVar[int]
    COVERED_VEHICLES_AT_PLANT_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    PLANT_COVERAGE_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    supplier_id: str
    group: str
    expected: int
    planned: int
    built: int
    in_transit: int
    at_dock: int
    line_side: int
    consumed: int
    covered_vehicles: int
    covered_vehicles_at_plant: int
    coverage: _duration_pb2.Duration
    plant_coverage: _duration_pb2.Duration
    def __init__(self, line_id: _Optional[str] = ..., supplier_id: _Optional[str] = ..., group: _Optional[str] = ..., expected: _Optional[int] = ..., planned: _Optional[int] = ..., built: _Optional[int] = ..., in_transit: _Optional[int] = ..., at_dock: _Optional[int] = ..., line_side: _Optional[int] = ..., consumed: _Optional[int] = ..., covered_vehicles: _Optional[int] = ..., covered_vehicles_at_plant: _Optional[int] = ..., coverage: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., plant_coverage: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Inventory(_message.Message):
    __slots__ = ("at", "scopes")
    AT_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    scopes: _containers.RepeatedCompositeFieldContainer[ScopeInventory]
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., scopes: _Optional[_Iterable[_Union[ScopeInventory, _Mapping]]] = ...) -> None: ...

class GetKpisRequest(_message.Message):
    __slots__ = ("line_id", "supplier_id", "to")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    supplier_id: str
    to: _timestamp_pb2.Timestamp
    def __init__(self, line_id: _Optional[str] = ..., supplier_id: _Optional[str] = ..., to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., **kwargs) -> None: ...

class BreakCount(_message.Message):
    __slots__ = ("type", "raised", "resolved")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    RAISED_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_FIELD_NUMBER: _ClassVar[int]
    type: _breaks_pb2.BreakType
    raised: int
    resolved: int
    def __init__(self, type: _Optional[_Union[_breaks_pb2.BreakType, str]] = ..., raised: _Optional[int] = ..., resolved: _Optional[int] = ...) -> None: ...

class Kpis(_message.Message):
    __slots__ = ("line_id", "supplier_id", "to", "racks_delivered", "racks_on_time", "racks_in_full", "racks_right_variants", "racks_right_order", "racks_otif", "otif", "slots_delivered", "slots_in_sequence", "sequence_accuracy", "lead_time_mean", "lead_time_stddev", "lead_time_samples", "breaks", "mean_time_to_detect", "mean_time_to_resolve", "appointments", "gate_wait_mean", "door_dwell_mean")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    RACKS_DELIVERED_FIELD_NUMBER: _ClassVar[int]
    RACKS_ON_TIME_FIELD_NUMBER: _ClassVar[int]
    RACKS_IN_FULL_FIELD_NUMBER: _ClassVar[int]
    RACKS_RIGHT_VARIANTS_FIELD_NUMBER: _ClassVar[int]
    RACKS_RIGHT_ORDER_FIELD_NUMBER: _ClassVar[int]
    RACKS_OTIF_FIELD_NUMBER: _ClassVar[int]
    OTIF_FIELD_NUMBER: _ClassVar[int]
    SLOTS_DELIVERED_FIELD_NUMBER: _ClassVar[int]
    SLOTS_IN_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    LEAD_TIME_MEAN_FIELD_NUMBER: _ClassVar[int]
    LEAD_TIME_STDDEV_FIELD_NUMBER: _ClassVar[int]
    LEAD_TIME_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    BREAKS_FIELD_NUMBER: _ClassVar[int]
    MEAN_TIME_TO_DETECT_FIELD_NUMBER: _ClassVar[int]
    MEAN_TIME_TO_RESOLVE_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENTS_FIELD_NUMBER: _ClassVar[int]
    GATE_WAIT_MEAN_FIELD_NUMBER: _ClassVar[int]
    DOOR_DWELL_MEAN_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    supplier_id: str
    to: _timestamp_pb2.Timestamp
    racks_delivered: int
    racks_on_time: int
    racks_in_full: int
    racks_right_variants: int
    racks_right_order: int
    racks_otif: int
    otif: float
    slots_delivered: int
    slots_in_sequence: int
    sequence_accuracy: float
    lead_time_mean: _duration_pb2.Duration
    lead_time_stddev: _duration_pb2.Duration
    lead_time_samples: int
    breaks: _containers.RepeatedCompositeFieldContainer[BreakCount]
    mean_time_to_detect: _duration_pb2.Duration
    mean_time_to_resolve: _duration_pb2.Duration
    appointments: int
    gate_wait_mean: _duration_pb2.Duration
    door_dwell_mean: _duration_pb2.Duration
    def __init__(self, line_id: _Optional[str] = ..., supplier_id: _Optional[str] = ..., to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., racks_delivered: _Optional[int] = ..., racks_on_time: _Optional[int] = ..., racks_in_full: _Optional[int] = ..., racks_right_variants: _Optional[int] = ..., racks_right_order: _Optional[int] = ..., racks_otif: _Optional[int] = ..., otif: _Optional[float] = ..., slots_delivered: _Optional[int] = ..., slots_in_sequence: _Optional[int] = ..., sequence_accuracy: _Optional[float] = ..., lead_time_mean: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., lead_time_stddev: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., lead_time_samples: _Optional[int] = ..., breaks: _Optional[_Iterable[_Union[BreakCount, _Mapping]]] = ..., mean_time_to_detect: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., mean_time_to_resolve: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., appointments: _Optional[int] = ..., gate_wait_mean: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., door_dwell_mean: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., **kwargs) -> None: ...
