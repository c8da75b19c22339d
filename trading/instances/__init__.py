"""The instance model, its state machine and events."""
