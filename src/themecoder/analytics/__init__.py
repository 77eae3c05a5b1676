"""Analytics: pure functions over DataFrames (time series, risk routing, health, anomalies,
linkage to outcomes, sampling coverage). Queries live in ``storage.analytics``; the services
compose both; nothing here does I/O except ``charts`` writing the file it is asked for.
"""
