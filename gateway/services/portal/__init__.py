"""The customer portal's services: who may sign in, sessions, links, checkouts and what a customer sees."""
