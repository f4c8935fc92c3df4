"""Task data: sources (default movie reviews, user files), splits and tokenization."""
