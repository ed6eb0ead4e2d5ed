"""A local imitation of Slack: a fake Web API server and a sender of signed Slack requests."""
