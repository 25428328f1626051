"""An emulated Polar H10 (or a DIY board) as a BlueZ GATT server application (dbus-fast), for bluezoo.

It speaks the real byte protocol by driving calfsense's virtual sensor state machine (PMD control point
semantics, frames at the negotiated rate with device timestamps, heart rate with RR intervals; or the
calfsense IMU profile's settings, control and packets).
No `from __future__ import annotations` here: dbus-fast reads the annotations as D-Bus signatures.
"""

import asyncio
from typing import Any

from dbus_fast import BusType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method

from calfsense.protocol import gatt
from calfsense.sources.virtual import VirtualSensor, gatt_layout

APP = "/com/calfsense/h10"
ADV = "/com/calfsense/h10/adv"


class Characteristic(ServiceInterface):
    def __init__(self, owner: "Peripheral", path: str, uuid: str, flags: list, service_path: str) -> None:
        super().__init__("org.bluez.GattCharacteristic1")
        self.owner, self.path, self.uuid, self.flags, self.service_path = owner, path, uuid, flags, service_path
        self.value = b""

    @method()
    def ReadValue(self, options: "a{sv}") -> "ay":
        return self.owner.sensor.read(self.uuid)

    @method()
    def WriteValue(self, value: "ay", options: "a{sv}"):
        self.owner.sensor.write(self.uuid, bytes(value))

    @method()
    def StartNotify(self):
        self.owner.start_notify(self)

    @method()
    def StopNotify(self):
        self.owner.sensor.notify.pop(self.uuid, None)

    @method()
    def Confirm(self):
        pass

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":
        return self.uuid

    @dbus_property(access=PropertyAccess.READ)
    def Service(self) -> "o":
        return self.service_path

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> "as":
        return self.flags

    @dbus_property(access=PropertyAccess.READ)
    def Notifying(self) -> "b":
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> "ay":
        return self.value

    def push(self, data: bytes) -> None:
        self.value = bytes(data)
        self.emit_properties_changed({"Value": self.value})

    def props(self) -> dict:
        return {
            "UUID": Variant("s", self.uuid),
            "Service": Variant("o", self.service_path),
            "Flags": Variant("as", self.flags),
            "Notifying": Variant("b", False),
            "Value": Variant("ay", self.value),
        }


class Service(ServiceInterface):
    def __init__(self, path: str, uuid: str) -> None:
        super().__init__("org.bluez.GattService1")
        self.path, self.uuid = path, uuid

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":
        return self.uuid

    @dbus_property(access=PropertyAccess.READ)
    def Primary(self) -> "b":
        return True

    def props(self) -> dict:
        return {"UUID": Variant("s", self.uuid), "Primary": Variant("b", True)}


class Application(ServiceInterface):
    def __init__(self, objects: list) -> None:
        super().__init__("org.freedesktop.DBus.ObjectManager")
        self.objects = objects

    @method()
    def GetManagedObjects(self) -> "a{oa{sa{sv}}}":
        return {o.path: {o.name: o.props()} for o in self.objects}


class Advertisement(ServiceInterface):
    def __init__(self, name: str, uuids: list) -> None:
        super().__init__("org.bluez.LEAdvertisement1")
        self.local_name, self.uuids = name, uuids

    @method()
    def Release(self):
        pass

    @dbus_property(access=PropertyAccess.READ)
    def Type(self) -> "s":
        return "peripheral"

    @dbus_property(access=PropertyAccess.READ)
    def ServiceUUIDs(self) -> "as":
        return self.uuids

    @dbus_property(access=PropertyAccess.READ)
    def LocalName(self) -> "s":
        return self.local_name

    @dbus_property(access=PropertyAccess.READ)
    def Discoverable(self) -> "b":
        return True


class Peripheral:
    """The emulated sensor on bluezoo's hci1, registered with GattManager1 and LEAdvertisingManager1."""

    def __init__(self, sensor: VirtualSensor, adapter: str = "/org/bluez/hci1") -> None:
        self.sensor = sensor
        self.adapter = adapter
        self.bus: Any = None
        self.chars: dict[str, Characteristic] = {}
        self.hr_task: Any = None

    async def start(self) -> None:
        self.bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        objects: list = []
        for i, (svc_uuid, chars) in enumerate(gatt_layout(self.sensor.profile)):
            spath = f"{APP}/service{i}"
            svc = Service(spath, svc_uuid)
            objects.append(svc)
            self.bus.export(spath, svc)
            for j, (cuuid, flags) in enumerate(chars):
                cpath = f"{spath}/char{j}"
                ch = Characteristic(self, cpath, cuuid, flags, spath)
                objects.append(ch)
                self.chars[cuuid] = ch
                self.bus.export(cpath, ch)
        self.bus.export(APP, Application(objects))
        self.bus.export(ADV, Advertisement(self.sensor.name, list(self.sensor.advertisement().service_uuids)))
        intro = await self.bus.introspect("org.bluez", self.adapter)
        proxy = self.bus.get_proxy_object("org.bluez", self.adapter, intro)
        await proxy.get_interface("org.bluez.GattManager1").call_register_application(APP, {})
        await proxy.get_interface("org.bluez.LEAdvertisingManager1").call_register_advertisement(ADV, {})

    def start_notify(self, ch: Characteristic) -> None:
        self.sensor.notify[ch.uuid] = ch.push
        self.sensor.connected = True
        self.sensor.subscribed(ch.uuid)
        if ch.uuid == gatt.HEART_RATE_MEASUREMENT_UUID and (self.hr_task is None or self.hr_task.done()):
            self.hr_task = asyncio.get_running_loop().create_task(self.sensor._heart_rate())

    async def drop_link(self, central_address: str) -> None:
        """The sensor ends the connection (Device1.Disconnect on the peripheral's side)."""
        self.sensor.notify.clear()
        path = f"{self.adapter}/dev_{central_address.replace(':', '_')}"
        intro = await self.bus.introspect("org.bluez", path)
        dev = self.bus.get_proxy_object("org.bluez", path, intro).get_interface("org.bluez.Device1")
        await dev.call_disconnect()

    async def stop(self) -> None:
        if self.hr_task is not None:
            self.hr_task.cancel()
        self.sensor.connected = False
        if self.bus is not None:
            self.bus.disconnect()
