"""HOW WE LOOK: probes run inside client containers; the driver turns their JSON into records."""
