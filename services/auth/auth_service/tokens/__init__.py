"""Personal access tokens: long-lived, scoped credentials a user makes for their API clients."""
