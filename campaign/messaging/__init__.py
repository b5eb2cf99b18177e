"""Texts to supporters: the outbox (reply and bulk), the sender, alerts, outcome messages, the
Messages report, and the providers' sending APIs (``providers``).

Uses storage and supporters.
"""
