"""The warmchat application: settings, personas, the conversation, the UI, the CLI, export."""
