"""Market feeds: where the coordinator's prices, volumes and liquidations
come from. Every feed yields `Batch`es (see `base`); `spec.open_feed` turns
a command-line spec (`sim`, `csv:PATH`) into one."""
