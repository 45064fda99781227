"""The clusterdeck terminal app, its widgets and the command line (imports nothing heavy)."""
