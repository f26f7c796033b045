"""The one exception type users see: a one-line message naming the problem and the fix."""


class SeglabError(Exception):
    """A problem with the user's input (config, data, run folder), with a one-line message.

    The CLI prints ``str(error)`` and exits non-zero; it never shows a traceback for these.
    """


class ConfigError(SeglabError):
    """An invalid parameters file or ``--set`` override."""


class DataError(SeglabError):
    """A customer table that breaks the input contract."""
