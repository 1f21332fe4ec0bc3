"""The daemon's web side (ASGI): the intake API, the partner portal and the head's dashboard."""
