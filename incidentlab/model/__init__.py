"""The cluster model: knobs (params), the step loop (engine), schedules (scenario), results (outcome)."""
