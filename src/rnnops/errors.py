"""Errors meant for users: one line that says what, where and what to do (no traceback)."""


class UserError(Exception):
    """A mistake in the user's input or environment, reported as one line."""


class ConfigError(UserError):
    """A configuration value that breaks a rule; the message starts with its dotted key."""

    def __init__(self, key: str, message: str):
        super().__init__(f"config key '{key}': {message}")
        self.key = key


class DataError(UserError):
    """Input data that cannot be used as configured. `public`: the message without what it quotes
    from the data (cells, times, names the reader does not know), for a served model's answer."""

    def __init__(self, message: str, public: str | None = None):
        super().__init__(message)
        self.public = message if public is None else public


def one_line(message: str) -> str:
    """Hydra's multi-line composition error as one line, keeping the available options."""
    message = message.split("Config search path")[0].split("Set the environment variable")[0]
    head, *rest = [line.strip() for line in message.splitlines() if line.strip()]
    if rest and rest[0].endswith(":"):
        return f"{head}; {rest[0].rstrip(':').lower()}: {', '.join(rest[1:])}"
    return " ".join([head, *rest])
