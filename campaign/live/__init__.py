"""The live view in Redis: key layout, figures written and read, rebuilding, the workers'
queue, reconcile.

A rebuildable copy of the database; reads the recorder's change records, never writes SQL
facts of its own.
"""
