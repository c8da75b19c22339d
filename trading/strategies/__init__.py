"""Trading strategies: one module each, behind `base.Strategy`, found by
name through `registry.get()` (which imports every module of this package,
so adding a strategy is adding a module)."""
