"""What a class reads and follows: the texts in every language, message codes, presets and the claims they make,
lessons, teacher links."""
