"""Guided troubleshooting flows (D1-D11, C1-C7, R1-R8) and the pasted-error classifier."""
