"""Strategies by name. Every module of `trading.strategies` is imported on
first use, so a module that decorates its class with `@register` is all a
new strategy needs."""

import importlib
import pkgutil

from django.core.exceptions import ValidationError

from trading.exceptions import UnknownStrategy

_strategies = {}
_loaded = False


def register(cls):
    if _strategies.get(cls.name, cls) is not cls:
        raise ValueError(f"strategy {cls.name!r} is already registered")
    _strategies[cls.name] = cls
    return cls


def _load():
    global _loaded
    if not _loaded:
        import trading.strategies as package

        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
        _loaded = True


def get(name):
    _load()
    try:
        return _strategies[name]
    except KeyError:
        raise UnknownStrategy(
            f"unknown strategy {name!r}; known: {', '.join(names()) or 'none'}"
        ) from None


def validate_name(value):
    """The validator of `StrategyInstance.strategy`: the same refusal as
    `get()`, as a field error, so the admin's forms show it beside the field
    and `full_clean()` reports it like any other invalid value."""
    try:
        get(value)
    except UnknownStrategy as exc:
        raise ValidationError(str(exc), code="unknown_strategy") from None


def names():
    _load()
    return sorted(_strategies)
