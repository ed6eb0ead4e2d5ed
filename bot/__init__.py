"""Admin Portal for Slack: the customer Admin Portal's flows as a Slack app."""
