"""Recurrent cells behind one contract: `forward(x, state=None) -> (y, state)`, batch-first, and the
same constructor arguments (input_size, hidden_size, num_layers, dropout). One file per recurrence.
"""
