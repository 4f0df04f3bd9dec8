"""Conversation state over time: the boundary protocol, pacing, relent advice, incidents."""
