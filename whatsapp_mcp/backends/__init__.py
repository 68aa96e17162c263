"""HTTP clients and health monitoring for the Go and Baileys bridges."""
