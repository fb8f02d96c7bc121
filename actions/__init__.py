"""Thin rasa_sdk actions: read the tracker, call `bot.conversation`, send what it answers."""
