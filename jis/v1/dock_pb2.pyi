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

class AppointmentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPOINTMENT_STATE_UNSPECIFIED: _ClassVar[AppointmentState]
    APPOINTMENT_STATE_BOOKED: _ClassVar[AppointmentState]
    APPOINTMENT_STATE_IN_YARD: _ClassVar[AppointmentState]
    APPOINTMENT_STATE_AT_DOOR: _ClassVar[AppointmentState]
    APPOINTMENT_STATE_UNLOADED: _ClassVar[AppointmentState]
    APPOINTMENT_STATE_CANCELLED: _ClassVar[AppointmentState]

class YardEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    YARD_EVENT_KIND_UNSPECIFIED: _ClassVar[YardEventKind]
    YARD_EVENT_KIND_GATE_IN: _ClassVar[YardEventKind]
    YARD_EVENT_KIND_AT_DOOR: _ClassVar[YardEventKind]
    YARD_EVENT_KIND_UNLOADED: _ClassVar[YardEventKind]
APPOINTMENT_STATE_UNSPECIFIED: AppointmentState
APPOINTMENT_STATE_BOOKED: AppointmentState
APPOINTMENT_STATE_IN_YARD: AppointmentState
APPOINTMENT_STATE_AT_DOOR: AppointmentState
APPOINTMENT_STATE_UNLOADED: AppointmentState
APPOINTMENT_STATE_CANCELLED: AppointmentState
YARD_EVENT_KIND_UNSPECIFIED: YardEventKind
YARD_EVENT_KIND_GATE_IN: YardEventKind
YARD_EVENT_KIND_AT_DOOR: YardEventKind
YARD_EVENT_KIND_UNLOADED: YardEventKind

class AppointmentSpec(_message.Message):
    __slots__ = ("appointment_id", "door", "window_start", "window_end", "carrier", "trailer", "supplier_id", "rack_ids")
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DOOR_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    TRAILER_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    RACK_IDS_FIELD_NUMBER: _ClassVar[int]
    appointment_id: str
    door: str
    window_start: _timestamp_pb2.Timestamp
    window_end: _timestamp_pb2.Timestamp
    carrier: str
    trailer: str
    supplier_id: str
    rack_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, appointment_id: _Optional[str] = ..., door: _Optional[str] = ..., window_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., carrier: _Optional[str] = ..., trailer: _Optional[str] = ..., supplier_id: _Optional[str] = ..., rack_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Appointment(_message.Message):
    __slots__ = ("spec", "state", "booked_at", "gate_in_at", "at_door_at", "unloaded_at", "cancelled_at", "gate_wait", "door_dwell", "punctuality", "on_time")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BOOKED_AT_FIELD_NUMBER: _ClassVar[int]
    GATE_IN_AT_FIELD_NUMBER: _ClassVar[int]
    AT_DOOR_AT_FIELD_NUMBER: _ClassVar[int]
    UNLOADED_AT_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_AT_FIELD_NUMBER: _ClassVar[int]
    GATE_WAIT_FIELD_NUMBER: _ClassVar[int]
    DOOR_DWELL_FIELD_NUMBER: _ClassVar[int]
    PUNCTUALITY_FIELD_NUMBER: _ClassVar[int]
    ON_TIME_FIELD_NUMBER: _ClassVar[int]
    spec: AppointmentSpec
    state: AppointmentState
    booked_at: _timestamp_pb2.Timestamp
    gate_in_at: _timestamp_pb2.Timestamp
    at_door_at: _timestamp_pb2.Timestamp
    unloaded_at: _timestamp_pb2.Timestamp
    cancelled_at: _timestamp_pb2.Timestamp
    gate_wait: _duration_pb2.Duration
    door_dwell: _duration_pb2.Duration
    punctuality: _duration_pb2.Duration
    on_time: bool
    def __init__(self, spec: _Optional[_Union[AppointmentSpec, _Mapping]] = ..., state: _Optional[_Union[AppointmentState, str]] = ..., booked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., gate_in_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., at_door_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., unloaded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cancelled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., gate_wait: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., door_dwell: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., punctuality: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., on_time: _Optional[bool] = ...) -> None: ...

class CancelAppointmentRequest(_message.Message):
    __slots__ = ("appointment_id",)
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    appointment_id: str
    def __init__(self, appointment_id: _Optional[str] = ...) -> None: ...

class YardEventRequest(_message.Message):
    __slots__ = ("appointment_id", "kind", "at")
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    appointment_id: str
    kind: YardEventKind
    at: _timestamp_pb2.Timestamp
    def __init__(self, appointment_id: _Optional[str] = ..., kind: _Optional[_Union[YardEventKind, str]] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetAppointmentRequest(_message.Message):
    __slots__ = ("appointment_id",)
    APPOINTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    appointment_id: str
    def __init__(self, appointment_id: _Optional[str] = ...) -> None: ...

class GetYardRequest(_message.Message):
    __slots__ = ("to", "door")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    DOOR_FIELD_NUMBER: _ClassVar[int]
    to: _timestamp_pb2.Timestamp
    door: str
    def __init__(self, to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., door: _Optional[str] = ..., **kwargs) -> None: ...

class DoorSchedule(_message.Message):
    __slots__ = ("door", "appointments")
    DOOR_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENTS_FIELD_NUMBER: _ClassVar[int]
    door: str
    appointments: _containers.RepeatedCompositeFieldContainer[Appointment]
    def __init__(self, door: _Optional[str] = ..., appointments: _Optional[_Iterable[_Union[Appointment, _Mapping]]] = ...) -> None: ...

class Yard(_message.Message):
    __slots__ = ("at", "waiting", "at_door", "doors")
    AT_FIELD_NUMBER: _ClassVar[int]
    WAITING_FIELD_NUMBER: _ClassVar[int]
    AT_DOOR_FIELD_NUMBER: _ClassVar[int]
    DOORS_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    waiting: _containers.RepeatedCompositeFieldContainer[Appointment]
    at_door: _containers.RepeatedCompositeFieldContainer[Appointment]
    doors: _containers.RepeatedCompositeFieldContainer[DoorSchedule]
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., waiting: _Optional[_Iterable[_Union[Appointment, _Mapping]]] = ..., at_door: _Optional[_Iterable[_Union[Appointment, _Mapping]]] = ..., doors: _Optional[_Iterable[_Union[DoorSchedule, _Mapping]]] = ...) -> None: ...
