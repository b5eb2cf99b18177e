"""Appeals and campaigns: the registry, outcomes, petitions and deliveries to the authorities.

Uses storage and inbound's directory (to announce changes to the write path).
"""
