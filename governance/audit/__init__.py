"""The append-only audit log each tenant keeps in its own schema."""
