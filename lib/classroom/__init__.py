"""What a class reads and follows: presets and the claims they make, lessons, teacher links, QR codes."""
