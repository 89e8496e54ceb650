"""User administration for admins: list, roles, deactivation."""
