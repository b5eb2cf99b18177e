"""Supporters: numbers kept as a keyed hash and ciphertext, the keys, privacy (erasure,
subject access, retention).

Uses storage; never the live view's writers or the web framework.
"""
