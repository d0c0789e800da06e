"""The carbon science: sink projects, methodologies, monitoring, verification and issuance requests."""
