"""Compile the virtual lab's march ahead of its first use: `python -m core.virtual_lab.compile`.

The march is compiled by numba, which keeps the machine code on disk beside the sources; `make` runs this once
after installing, so that the first simulation of a session loads it instead of spending about 15 s compiling.
"""

from core.profiles import ThermocycleProfile
from core.virtual_lab.simulator import simulate_batch

if __name__ == "__main__":
    simulate_batch(ThermocycleProfile((50.0, 30.0, 45.0, 5.0), (0.3, 0.3), (0.5,)), 40.0, 0.1)
