"""GraphQL adapter of backend.notifications: devices and push preferences."""
