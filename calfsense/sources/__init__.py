"""Sources of sensor frames: recordings, the simulator, and (lazily) Bluetooth."""
