"""Helpers the test packages share: clients that speak the protocol, processes, services."""
