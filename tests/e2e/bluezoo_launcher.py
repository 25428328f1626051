"""Start bluezoo (a BlueZ D-Bus mock) with the runtime fixes the end-to-end tests need.

bluezoo 1.0.2 reports a scanned device once, so a later scan never sees it again (bleak subscribes
after StartDiscovery); and a disconnect leaves the GATT client objects exported, so the next connect
fails. See ../shared/reference/ble-emulation.md. Run: python bluezoo_launcher.py ADDR_CENTRAL ADDR_PERIPHERAL
"""

import asyncio
import sys

import bluezoo.bluezoo as bz
from bluezoo.device import Device
from bluezoo.gatt import GattCharacteristicClientLink

_original_sync = Device.properties_sync


async def _properties_sync(self, device):  # fix 1: every scan round is an advertisement event
    await _original_sync(self, device)
    await self.UUIDs.set_async(device.uuids)


async def _disconnect(self, uuid=None):  # fix 3: a disconnect from either side tears both down
    self.connecting_task.cancel()
    if self.services:
        central = self
        peer_path = f"{self.peer_adapter.get_object_path()}/dev_{self.adapter.address.replace(':', '_')}"
        peripheral = self.peer_adapter.devices.get(peer_path)
    else:
        peripheral = self
        central_path = f"{self.peer_adapter.get_object_path()}/dev_{self.adapter.address.replace(':', '_')}"
        central = self.peer_adapter.devices.get(central_path)
    if central is not None:
        for link in list(central.services.values()):
            if isinstance(link, GattCharacteristicClientLink):
                link.client_props_changed_subscription.unsubscribe()
                try:
                    await link.client.StopNotify()
                except Exception:
                    pass
            try:
                central.peer_adapter.mock.remove_object(link)
            except KeyError:
                pass
        central.services = {}
    for dev in (central, peripheral):
        if dev is not None:
            await dev.ServicesResolved.set_async(False)
            await dev.Connected.set_async(False)


Device.properties_sync = _properties_sync
Device.disconnect = _disconnect


async def main(adapters):
    await bz.startup(bus="system", adapters=adapters, auto_enable=True, scan_interval=0.1)
    print("READY", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
