"""History: filters, the plan over the rollups, queries, rows and page frames, rollups, exports.

Uses storage; read-only but for the rollups it keeps.
"""
