"""The HTTP way in: the FastAPI app, its OpenAI-compatible routes, keys and metrics."""
