"""Placeholder: subcommands registered here land with their issue."""


def register(sub) -> None:
    pass
