"""The Model Context Protocol server (``reason mcp``): the reasoning tools for agent hosts."""

from api.mcp.server import build_mcp_server, http_app, mcp_command
from api.mcp.tools import SolveResult, register_tools

__all__ = ["SolveResult", "build_mcp_server", "http_app", "mcp_command", "register_tools"]
