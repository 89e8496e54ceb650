"""Registration, login, logout and the account page."""
