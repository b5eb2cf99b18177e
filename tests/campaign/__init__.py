"""Tests of the core, one folder per area as in campaign/."""
