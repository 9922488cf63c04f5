"""What comes back: status documents, bounces, EDI acknowledgements, print returns, proofs of delivery."""
