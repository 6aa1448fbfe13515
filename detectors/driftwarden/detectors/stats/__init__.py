"""Pure statistics: numpy/scipy functions with no I/O, no globals, no logging."""
