"""Reference hybrid WhatsApp MCP orchestrator (routing, sync, health, workflows)."""
