"""One Textual Screen per pane; shared behaviour in screens/base.py."""
