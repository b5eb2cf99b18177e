"""History: filters, queries over the rollups, the rollups themselves, exports.

Uses storage; read-only but for the rollups it keeps.
"""
