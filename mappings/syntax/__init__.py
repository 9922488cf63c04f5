"""EDI syntax: EDIFACT and X12 tokenizers, envelopes, grammars as data and the grammar checker."""
