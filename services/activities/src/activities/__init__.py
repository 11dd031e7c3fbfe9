"""Activities service: what stations do all day, and the client files that stay here."""
