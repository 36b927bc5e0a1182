"""bai: Backend.AI-compatible storage folders on one machine."""

__version__ = "0.1.0"

# The Backend.AI API version the official client 23.9.10 speaks. Reporting a higher one makes
# it print a warning on stdout (corrupting `--output json`); a lower one changes its GraphQL path.
API_VERSION = "v7.20230615"

__all__ = ["API_VERSION", "__version__"]
