"""The one exception type whose message is meant for the person using the playground."""


class PlaygroundError(Exception):
    """A problem the user can act on.

    The message says what was wrong and what to do about it; the UI shows it as is
    (as ``gr.Error`` for a whole request, or in the column of the model it concerns).
    """


class Stopped(PlaygroundError):
    """A request stopped before it finished: its caller went away, pressed Stop, or it reached the
    request time limit. Not a failure: a column keeps what it produced and says why it stopped."""
