"""Message grammars as data, one module per message family, for `mappings.edi_grammar.check_message`."""
