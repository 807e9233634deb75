#!/usr/bin/python3
"""A third-party Modbus TCP device for the field tests, with a register map unlike the WTC RTU's.

A tank with a pump and a valve (zero-based addresses; tests/peers/pymodbus_device.json is its
profile):

  holding registers  0  tank level, int16, 0.1 %
                     2  flow, float32 m3/h, LOW word first (registers 2 and 3)
                     4  temperature, int16, 0.1 degC
                     5  status bits; bit 3: the temperature is forced
                     6  flow quality code (0x00 good, 0x40 uncertain, 0x80 bad)
                    20  valve position setpoint, 0-1000 per mille
  input registers    0  valve position, 0-1000 per mille (follows the setpoint at once)
                    10  vendor id, 11 device id, 12 and 13 firmware major and minor
  coils              0  pump run command
  discrete inputs    0  pump interlock (low level), 1 pump running

Run with Debian's /usr/bin/python3 (python3-pymodbus 3.0, python3-serial). Prints
"READY port=<port>" once it serves; --port 0 picks a free port.
"""

import argparse
import asyncio
import struct

from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
)
from pymodbus.server import StartAsyncTcpServer


class ReactingBlock(ModbusSequentialDataBlock):
    """A data block that lets the device react to every write, as real I/O would."""

    def __init__(self, values, on_write):
        super().__init__(0, values)
        self.on_write = on_write

    def setValues(self, address, values):  # pylint: disable=invalid-name
        super().setValues(address, values)
        self.on_write()


class Device:
    """The device's I/O image and its rules."""

    def __init__(self):
        flow_high, flow_low = struct.unpack(">HH", struct.pack(">f", 12.5))
        holding = [0] * 32
        holding[0] = 734  # 73.4 %
        holding[2], holding[3] = flow_low, flow_high
        holding[4] = struct.unpack(">H", struct.pack(">h", -25))[0]  # -2.5 degC
        holding[5] = 1 << 3
        holding[6] = 0x40
        holding[20] = 250
        inputs = [0] * 16
        inputs[10], inputs[11], inputs[12], inputs[13] = 0x1234, 0x0042, 2, 7
        self.holding = ReactingBlock(holding, self.update)
        self.inputs = ModbusSequentialDataBlock(0, inputs)
        self.coils = ReactingBlock([False] * 8, self.update)
        self.discrete = ModbusSequentialDataBlock(0, [False] * 8)
        self.update()

    def update(self):
        interlocked = self.discrete.getValues(0)[0]
        run = self.coils.getValues(0)[0]
        self.discrete.setValues(1, [bool(run) and not interlocked])
        self.inputs.setValues(0, self.holding.getValues(20))

    def context(self):
        return ModbusSlaveContext(
            di=self.discrete, co=self.coils, hr=self.holding, ir=self.inputs, zero_mode=True
        )


async def serve(port, unit):
    device = Device()
    context = ModbusServerContext(slaves={unit: device.context()}, single=False)
    server = await StartAsyncTcpServer(
        context=context, address=("127.0.0.1", port), defer_start=True
    )
    task = asyncio.create_task(server.serve_forever())
    await server.serving
    print(f"READY port={server.server.sockets[0].getsockname()[1]}", flush=True)
    await task


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5020, help="TCP port; 0 picks a free one")
    parser.add_argument("--unit", type=int, default=1, help="the unit id it answers to")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.unit))


if __name__ == "__main__":
    main()
