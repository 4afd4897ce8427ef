"""Simulated Windows Hyper-V hosts: their state and the host scripts that run on it."""
