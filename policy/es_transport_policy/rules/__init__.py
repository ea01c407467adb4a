"""Plain rule functions: inputs (or a stack graph) and config in, findings out."""
