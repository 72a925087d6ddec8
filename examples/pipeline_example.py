"""A worked example of casman's Python API, as a correlator pipeline would use it.

Run it on the quick start's databases (examples/quickstart.sh prints the path):

    CASMAN_DATABASE_DIR=quickstart/database .venv/bin/python examples/pipeline_example.py

or pass the directory: ``python examples/pipeline_example.py quickstart/database``.
It only reads: the databases are opened with SQLite's ``mode=ro`` and left untouched.
"""

from __future__ import annotations

import sys

import casman
from casman.array import ArrayLookupError


def main(database_dir: str | None = None) -> int:
    # One consistent snapshot of the whole array; no lock is held after this line.
    array = casman.open_array(database_dir)
    print(repr(array))

    # 1. What arrives on a packet index? (feng_id × 12 + port)
    print("\npacket index 5:", array.by_packet_index(5))

    # 2. The correlator's input map: every packet index an antenna reaches.
    print("\npacket map (packet index → antenna, polarization, grid code, kernel index):")
    for port in array.packet_map():
        assert port.antenna is not None
        print(
            f"  {port.packet_index:3d} → {port.antenna.number} {port.polarization} "
            f"at {port.grid_code or '-'} kernel {port.kernel_index}"
        )

    # 3. From a kernel input back to the antenna and both of its signals.
    for antenna in array:
        if antenna.kernel_index is None:
            print(f"\n{antenna.number}: no kernel index ({antenna.kernel_index_note})")
            continue
        same = array.by_kernel_index(antenna.kernel_index)
        print(f"\nkernel index {antenna.kernel_index} → {same}")
        for chain in same.signals:
            print(f"  {chain.polarization}: {chain}")
            for problem in chain.problems:
                print(f"    ! {problem}")

    # 4. Questions about things that are not there raise LookupError with one line.
    try:
        array.at("CN021E01")
    except ArrayLookupError as error:
        print(f"\nlookup: {error}")

    # 5. A board, its configuration and its 12 inputs.
    board = array.snap_board("SNAP1A")
    print(f"\n{board}")
    print("  packet indexes:", [port.packet_index for port in board.ports])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
