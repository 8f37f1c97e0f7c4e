"""Multi-objective design of thermocycle profiles on the surrogate models."""
