"""What every DALI service of tapserver shares (parameters, capabilities, database faults); it imports no
service package."""
