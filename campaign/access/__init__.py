"""Who may do what: roles and pages, users, the login throttle, screen links, API tokens.

Uses storage and audit.
"""
