"""Interchange with other tools: REFI-QDA projects, helpdesk exports and webhooks."""
