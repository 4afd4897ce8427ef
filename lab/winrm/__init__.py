"""WS-Management Windows Remote Shell (the WinRM service) for the simulated hosts."""
