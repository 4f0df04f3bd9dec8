"""Notifications that are never lost: the outbox delivery worker and its channels."""
