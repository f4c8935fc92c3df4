"""The export-friendly BERT encoder, its sub-network slicing, and Hugging Face weight loading."""
