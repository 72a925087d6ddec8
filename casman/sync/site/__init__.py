"""The local side of sync: the site's records and tables, and what it knows of stores."""
