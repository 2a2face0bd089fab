"""The compute agent: one per hypervisor host; drives its driver, reports through the conductor."""
