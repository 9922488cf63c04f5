"""EDI acknowledgements: CONTRL, APERAK, TA1, 997 and 999, read and written."""
