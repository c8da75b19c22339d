"""The dashboard page; its scripts and styles are under trading/static/trading/."""
