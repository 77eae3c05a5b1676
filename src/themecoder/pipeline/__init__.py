"""Pipeline stages: segment, redact, embed, classify, sentiment. One stage per module."""
