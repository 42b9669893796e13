"""One file per recurrence. Every cell is one layer with the same contract:
`Cell(input_size, hidden_size, **options)`, `forward(x, state=None) -> (y, state)`, batch-first,
states with the batch first. Layers, directions and regularizers are added by models.layers."""
