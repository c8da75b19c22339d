"""The market side: feeds, indicators, the latest values store and the market streams."""
