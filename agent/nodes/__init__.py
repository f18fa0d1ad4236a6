"""Graph nodes: one step each, returning partial state updates."""
