"""Slack listeners: parse the payload, ack fast, call one service, render a view."""
