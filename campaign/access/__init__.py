"""Who may do what: roles and pages, users, the login throttle, screen links, API tokens, and
who a request is from (the client's address behind trusted proxies).

Uses storage and audit.
"""
