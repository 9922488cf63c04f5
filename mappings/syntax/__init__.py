"""EDI syntax: EDIFACT and X12 tokenizers, envelopes, grammars as data and the grammar checker, and the
lenient readers (`lenient`) for files the strict layer refuses but that must still be read or answered."""
