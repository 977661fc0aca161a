#!/usr/bin/python3
"""Modbus server for coldaisle's peer tests, built on pymodbus 3.0.0rc1 (run with /usr/bin/python3).

One unit (--unit, default 1) with 100 holding and 100 input registers, 100 coils and 100
discrete inputs (PDU addresses 0..99; anything past them answers exception 0x02). Coil n starts
on when n % 3 == 0, discrete input n is on when n % 4 == 1. Both tables start with every value type in every
word order, encoded by pymodbus's own BinaryPayloadBuilder, so the Go side checks its decoder
against an encoder it did not write:

    for type in int16, uint16, int32, uint32, float32:
        for order in ABCD, CDAB, BADC, DCBA:
            the sample value of that type, 1 or 2 registers

Once serving, the script prints one JSON line on stdout:
    {"port": <tcp port or 0>, "values": [{"table", "addr", "type", "order", "value"}, ...],
     "coils": [true, false, ...], "discrete": [...]}
and then runs until it is killed.

    pymodbus_server.py --mode tcp [--port 0]        # 0: pick a free loopback port
    pymodbus_server.py --mode rtu --device /dev/pts/N   # 19200 8N1
"""
import argparse
import asyncio
import json
import sys

from pymodbus.constants import Endian
from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
)
from pymodbus.payload import BinaryPayloadBuilder
from pymodbus.server.async_io import ModbusSerialServer, ModbusTcpServer
from pymodbus.transaction import ModbusRtuFramer, ModbusSocketFramer

# (byteorder, wordorder) of BinaryPayloadBuilder for each word order name.
ORDERS = {
    "ABCD": (Endian.Big, Endian.Big),
    "CDAB": (Endian.Big, Endian.Little),
    "BADC": (Endian.Little, Endian.Big),
    "DCBA": (Endian.Little, Endian.Little),
}
ADD = {
    "int16": "add_16bit_int",
    "uint16": "add_16bit_uint",
    "int32": "add_32bit_int",
    "uint32": "add_32bit_uint",
    "float32": "add_32bit_float",
}
SAMPLES = {
    "holding": {"int16": -1234, "uint16": 54321, "int32": -123456789, "uint32": 3000000000, "float32": 123.456},
    "input": {"int16": -200, "uint16": 1000, "int32": -70000, "uint32": 123456789, "float32": -0.15625},
}
SIZE = 100
COILS = [n % 3 == 0 for n in range(SIZE)]
DISCRETE = [n % 4 == 1 for n in range(SIZE)]


def table(name):
    regs, layout = [], []
    for typ, value in SAMPLES[name].items():
        for order, (byteorder, wordorder) in ORDERS.items():
            builder = BinaryPayloadBuilder(byteorder=byteorder, wordorder=wordorder)
            getattr(builder, ADD[typ])(value)
            words = builder.to_registers()
            layout.append({"table": name, "addr": len(regs), "type": typ, "order": order, "value": value})
            regs.extend(words)
    return regs + [0] * (SIZE - len(regs)), layout


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["tcp", "rtu"], required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--device")
    parser.add_argument("--unit", type=int, default=1)
    args = parser.parse_args()

    hr, hr_layout = table("holding")
    ir, ir_layout = table("input")
    slave = ModbusSlaveContext(
        hr=ModbusSequentialDataBlock(0, hr),
        ir=ModbusSequentialDataBlock(0, ir),
        co=ModbusSequentialDataBlock(0, COILS),
        di=ModbusSequentialDataBlock(0, DISCRETE),
        zero_mode=True,  # PDU address n is block index n
    )
    context = ModbusServerContext(slaves={args.unit: slave}, single=False)

    if args.mode == "tcp":
        server = ModbusTcpServer(context, framer=ModbusSocketFramer, address=("127.0.0.1", args.port),
                                 allow_reuse_address=True)
        task = asyncio.create_task(server.serve_forever())
        await server.serving
        port = server.server.sockets[0].getsockname()[1]
    else:
        if not args.device:
            parser.error("--device is required with --mode rtu")
        server = ModbusSerialServer(context, framer=ModbusRtuFramer, port=args.device,
                                    baudrate=19200, bytesize=8, parity="N", stopbits=1)
        await server.start()
        if server.transport is None:
            sys.exit(f"cannot open {args.device}")
        task = None
        port = 0
    print(json.dumps({"port": port, "values": hr_layout + ir_layout, "coils": COILS, "discrete": DISCRETE}), flush=True)
    await asyncio.Event().wait()
    if task:
        task.cancel()


if __name__ == "__main__":
    asyncio.run(main())
