"""The cluster model: knobs (params), rules of one step (rules), the loop (engine),
schedules (scenario), named scenarios (presets) and results (outcome)."""
