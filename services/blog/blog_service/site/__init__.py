"""Files a browser asks for at the site's root."""
