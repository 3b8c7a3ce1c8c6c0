"""The whatsapp channel's wiring into the runtime."""


def install(runtime) -> None:
    """Nothing yet: the whatsapp adapter is being built."""
