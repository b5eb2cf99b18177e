"""A text's way in: the message, keywords and opt-out words, replies, the appeals' directory,
the recorder (the write path: an SMS batch step by step, the shared writes), the spool, CSV import.

Uses storage, supporters and messaging's outbox (to queue replies).
"""
