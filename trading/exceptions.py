"""Errors of the trading domain, one small class each."""


class TradingError(Exception):
    """Base class: commands and the admin report these as clear messages."""


class IllegalTransition(TradingError):
    """The state machine does not allow that move; nothing was saved."""


class TransitionConflict(TradingError):
    """Someone else moved the instance first; nothing was saved."""


class BulkWriteNotSupported(TradingError):
    """A bulk path that would skip the dashboard."""


class FeedError(TradingError):
    """A market feed cannot start (unreadable file, bad header, bad spec)."""


class UnknownStrategy(TradingError):
    """An instance names a strategy that no module registered."""


class StrategyConfigError(TradingError):
    """An instance's params do not fit its strategy."""


class SessionTaken(TradingError):
    """Another coordinator runs that trading session; this one won't."""
