"""Beyond the seven stages: sweeps, held-out data, optimizer internals and landscape, your own network, A against B,
CPU vs GPU."""
