"""eFaktura's files of our own shape (the provider's are not public): recipient-search answers, receipts."""
