"""Cangliu (仓流): one real-time stock ledger across warehouses, stores and online channels."""

__version__ = "0.1.0"
