"""Message grammars as data, one module per message family, for
`mappings.syntax.edi_grammar.check_message`."""
