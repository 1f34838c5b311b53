"""Local and test stages only: the movable clock, and readers of what the emulator sent."""
