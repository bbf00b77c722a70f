"""The enterprise graph: ownership, control, groups, shell-cluster signals, contagion."""
