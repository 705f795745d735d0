from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_UNSPECIFIED: _ClassVar[Action]
    ACTION_ADD: _ClassVar[Action]
    ACTION_CHANGE: _ClassVar[Action]
    ACTION_PULL: _ClassVar[Action]
    ACTION_REINSERT: _ClassVar[Action]
    ACTION_CANCEL: _ClassVar[Action]
    ACTION_INSTALLED: _ClassVar[Action]

class VehicleState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VEHICLE_STATE_UNSPECIFIED: _ClassVar[VehicleState]
    VEHICLE_STATE_ACTIVE: _ClassVar[VehicleState]
    VEHICLE_STATE_PULLED: _ClassVar[VehicleState]
    VEHICLE_STATE_CANCELLED: _ClassVar[VehicleState]
    VEHICLE_STATE_INSTALLED: _ClassVar[VehicleState]
ACTION_UNSPECIFIED: Action
ACTION_ADD: Action
ACTION_CHANGE: Action
ACTION_PULL: Action
ACTION_REINSERT: Action
ACTION_CANCEL: Action
ACTION_INSTALLED: Action
VEHICLE_STATE_UNSPECIFIED: VehicleState
VEHICLE_STATE_ACTIVE: VehicleState
VEHICLE_STATE_PULLED: VehicleState
VEHICLE_STATE_CANCELLED: VehicleState
VEHICLE_STATE_INSTALLED: VehicleState

class Part(_message.Message):
    __slots__ = ("group", "part_number", "supplier_id", "quantity")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    group: str
    part_number: str
    supplier_id: str
    quantity: int
    def __init__(self, group: _Optional[str] = ..., part_number: _Optional[str] = ..., supplier_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...
