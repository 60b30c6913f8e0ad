"""The one exception type for user mistakes.

Anything the user can fix (a missing file, a malformed line, a bad option) raises `CurriscaleError`
with a message that names the culprit. The CLI turns it into a one-line error and exit code 2;
library users catch it like any other exception.
"""


class CurriscaleError(Exception):
    """A user-facing error: the message names the file, line, document or option at fault."""
