"""Helpers shared by the screens; not screens themselves."""
