"""Long work as Jobs: a row per job in the tenant's schema that its Celery task reports progress into."""
