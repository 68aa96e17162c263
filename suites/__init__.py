"""The bundled pytest suites of the reference WhatsApp MCP orchestrator."""
