"""The telegram channel's wiring into the runtime."""


def install(runtime) -> None:
    """Nothing yet: the telegram adapter is being built."""
