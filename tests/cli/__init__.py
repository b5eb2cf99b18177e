"""Tests of the `campaign` command, in real processes."""
