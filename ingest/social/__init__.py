"""The social way in: Meta webhooks (``meta``), the events API for machine clients
(``events``) and the referral link (``beacon``).

None of them is an SMS provider: each turns activity on a platform, or a click on a
shared link, into social events of a campaign, stored by ``activity``.
"""
