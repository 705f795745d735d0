import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from jis.v1 import breaks_pb2 as _breaks_pb2
from jis.v1 import broadcast_pb2 as _broadcast_pb2
from jis.v1 import dock_pb2 as _dock_pb2
from jis.v1 import reports_pb2 as _reports_pb2
from jis.v1 import supply_pb2 as _supply_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WhatIfChange(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WHAT_IF_CHANGE_UNSPECIFIED: _ClassVar[WhatIfChange]
    WHAT_IF_CHANGE_SAME: _ClassVar[WhatIfChange]
    WHAT_IF_CHANGE_NEW: _ClassVar[WhatIfChange]
    WHAT_IF_CHANGE_AVOIDED: _ClassVar[WhatIfChange]
    WHAT_IF_CHANGE_SOONER: _ClassVar[WhatIfChange]
    WHAT_IF_CHANGE_LATER: _ClassVar[WhatIfChange]
    WHAT_IF_CHANGE_LONGER: _ClassVar[WhatIfChange]
    WHAT_IF_CHANGE_SHORTER: _ClassVar[WhatIfChange]
WHAT_IF_CHANGE_UNSPECIFIED: WhatIfChange
WHAT_IF_CHANGE_SAME: WhatIfChange
WHAT_IF_CHANGE_NEW: WhatIfChange
WHAT_IF_CHANGE_AVOIDED: WhatIfChange
WHAT_IF_CHANGE_SOONER: WhatIfChange
WHAT_IF_CHANGE_LATER: WhatIfChange
WHAT_IF_CHANGE_LONGER: WhatIfChange
WHAT_IF_CHANGE_SHORTER: WhatIfChange

class ScenarioInput(_message.Message):
    __slots__ = ("at", "broadcast", "build", "dispatch", "move_rack", "rack_eta", "book_appointment", "change_appointment", "cancel_appointment", "yard_event")
    AT_FIELD_NUMBER: _ClassVar[int]
    BROADCAST_FIELD_NUMBER: _ClassVar[int]
    BUILD_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_FIELD_NUMBER: _ClassVar[int]
    MOVE_RACK_FIELD_NUMBER: _ClassVar[int]
    RACK_ETA_FIELD_NUMBER: _ClassVar[int]
    BOOK_APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    CHANGE_APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    YARD_EVENT_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    broadcast: _broadcast_pb2.Broadcast
    build: _supply_pb2.ReportBuildRequest
    dispatch: _supply_pb2.DispatchRackRequest
    move_rack: _supply_pb2.MoveRackRequest
    rack_eta: _supply_pb2.UpdateRackEtaRequest
    book_appointment: _dock_pb2.AppointmentSpec
    change_appointment: _dock_pb2.AppointmentSpec
    cancel_appointment: _dock_pb2.CancelAppointmentRequest
    yard_event: _dock_pb2.YardEventRequest
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., broadcast: _Optional[_Union[_broadcast_pb2.Broadcast, _Mapping]] = ..., build: _Optional[_Union[_supply_pb2.ReportBuildRequest, _Mapping]] = ..., dispatch: _Optional[_Union[_supply_pb2.DispatchRackRequest, _Mapping]] = ..., move_rack: _Optional[_Union[_supply_pb2.MoveRackRequest, _Mapping]] = ..., rack_eta: _Optional[_Union[_supply_pb2.UpdateRackEtaRequest, _Mapping]] = ..., book_appointment: _Optional[_Union[_dock_pb2.AppointmentSpec, _Mapping]] = ..., change_appointment: _Optional[_Union[_dock_pb2.AppointmentSpec, _Mapping]] = ..., cancel_appointment: _Optional[_Union[_dock_pb2.CancelAppointmentRequest, _Mapping]] = ..., yard_event: _Optional[_Union[_dock_pb2.YardEventRequest, _Mapping]] = ...) -> None: ...

class SupplierStop(_message.Message):
    __slots__ = ("supplier_id", "duration")
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    duration: _duration_pb2.Duration
    def __init__(self, supplier_id: _Optional[str] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., **kwargs) -> None: ...

class Plan(_message.Message):
    __slots__ = ("builds", "arrivals", "build_ahead")
    BUILDS_FIELD_NUMBER: _ClassVar[int]
    ARRIVALS_FIELD_NUMBER: _ClassVar[int]
    BUILD_AHEAD_FIELD_NUMBER: _ClassVar[int]
    builds: bool
    arrivals: bool
    build_ahead: _duration_pb2.Duration
    def __init__(self, builds: _Optional[bool] = ..., arrivals: _Optional[bool] = ..., build_ahead: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class WhatIfRequest(_message.Message):
    __slots__ = ("inputs", "supplier_stops", "horizon", "plan")
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_STOPS_FIELD_NUMBER: _ClassVar[int]
    HORIZON_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    inputs: _containers.RepeatedCompositeFieldContainer[ScenarioInput]
    supplier_stops: _containers.RepeatedCompositeFieldContainer[SupplierStop]
    horizon: _duration_pb2.Duration
    plan: Plan
    def __init__(self, inputs: _Optional[_Iterable[_Union[ScenarioInput, _Mapping]]] = ..., supplier_stops: _Optional[_Iterable[_Union[SupplierStop, _Mapping]]] = ..., horizon: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., plan: _Optional[_Union[Plan, _Mapping]] = ...) -> None: ...

class WhatIfBreak(_message.Message):
    __slots__ = ("sequence_break", "change", "baseline_detected_at", "baseline_resolved_at")
    SEQUENCE_BREAK_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    BASELINE_DETECTED_AT_FIELD_NUMBER: _ClassVar[int]
    BASELINE_RESOLVED_AT_FIELD_NUMBER: _ClassVar[int]
    sequence_break: _breaks_pb2.SequenceBreak
    change: WhatIfChange
    baseline_detected_at: _timestamp_pb2.Timestamp
    baseline_resolved_at: _timestamp_pb2.Timestamp
    def __init__(self, sequence_break: _Optional[_Union[_breaks_pb2.SequenceBreak, _Mapping]] = ..., change: _Optional[_Union[WhatIfChange, str]] = ..., baseline_detected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., baseline_resolved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class KpiComparison(_message.Message):
    __slots__ = ("line_id", "supplier_id", "scenario", "baseline")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    supplier_id: str
    scenario: _reports_pb2.Kpis
    baseline: _reports_pb2.Kpis
    def __init__(self, line_id: _Optional[str] = ..., supplier_id: _Optional[str] = ..., scenario: _Optional[_Union[_reports_pb2.Kpis, _Mapping]] = ..., baseline: _Optional[_Union[_reports_pb2.Kpis, _Mapping]] = ...) -> None: ...

class InputRejection(_message.Message):
    __slots__ = ("index", "code", "field", "message")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    index: int
    code: str
    field: str
    message: str
    def __init__(self, index: _Optional[int] = ..., code: _Optional[str] = ..., field: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class WhatIfResult(_message.Message):
    __slots__ = ("forked_at", "until", "breaks", "kpis", "rejected", "planned", "cpu")
    FORKED_AT_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    BREAKS_FIELD_NUMBER: _ClassVar[int]
    KPIS_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    PLANNED_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    forked_at: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    breaks: _containers.RepeatedCompositeFieldContainer[WhatIfBreak]
    kpis: _containers.RepeatedCompositeFieldContainer[KpiComparison]
    rejected: _containers.RepeatedCompositeFieldContainer[InputRejection]
    planned: _containers.RepeatedCompositeFieldContainer[ScenarioInput]
    cpu: _duration_pb2.Duration
    def __init__(self, forked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., breaks: _Optional[_Iterable[_Union[WhatIfBreak, _Mapping]]] = ..., kpis: _Optional[_Iterable[_Union[KpiComparison, _Mapping]]] = ..., rejected: _Optional[_Iterable[_Union[InputRejection, _Mapping]]] = ..., planned: _Optional[_Iterable[_Union[ScenarioInput, _Mapping]]] = ..., cpu: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...
