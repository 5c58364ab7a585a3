"""The one exception digitnet raises for anything a user can fix.

Library code raises `DigitnetError` with a message that names the thing that
is wrong and says how to fix it; only the command line prints it (one line on
stderr) and exits with status 2.
"""


class DigitnetError(Exception):
    """A problem with the user's input: a file, an argument, an image, a model."""


class DataError(DigitnetError):
    """A data file is missing, malformed or fails its checksum."""


class ModelFileError(DigitnetError):
    """A model file cannot be read or does not describe a valid network."""


class TrainingDiverged(DigitnetError):
    """The loss became NaN or infinite during training, or grew to many times the untrained network's."""
