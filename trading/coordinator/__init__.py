"""The trading coordinator: runs the live strategy instances of one or more
sessions against a market feed (`service.Coordinator`)."""

from trading.coordinator.service import Coordinator, RunResult  # noqa: F401
