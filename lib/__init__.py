"""The leads dashboard's library: everything but the pages."""
