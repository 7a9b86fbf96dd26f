"""The supervisor dashboard at /dashboard/: figures from nps.reporting, shown and exported."""
