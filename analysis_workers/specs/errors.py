"""The one error a spec or checkpoint problem raises; its message is one readable line."""


class CheckpointError(ValueError):
    """A spec or checkpoint file is not acceptable; the message says what to change."""
