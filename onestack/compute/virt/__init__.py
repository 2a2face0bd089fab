"""Hypervisor drivers: the ComputeDriver interface (driver.py), the fake host, the registry."""
