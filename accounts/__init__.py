"""Accounts and roles: users of enterprises, institutions and organiser offices, and administrators."""
