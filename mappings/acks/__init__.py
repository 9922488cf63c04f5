"""EDI acknowledgements, read and written, one module per job.

`model` (the `Acknowledgement` every kind reads into), `contrl` (read a CONTRL, write our CONTRL answer),
`aperak`, `ta1`, `functional_ack` (read a 997 / 999, write our 997 / 999 / TA1 answer), `x12_codes` (what
the X12 codes mean, and which one a syntax error gets), `edifact_acks` / `x12_acks` (the registry's
"edifact-ack" / "x12-ack": sniff, parse and inspect a file) and `received` (what a received EDI file is).
"""
