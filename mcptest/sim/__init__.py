"""Stand-ins for the Go and Baileys bridges: one behaviour, served over requests-mock or real HTTP."""
