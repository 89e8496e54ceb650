"""Password reset by email: ``/password/forgot`` sends a link, ``/password/reset/<token>``."""
