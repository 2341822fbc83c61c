"""Built-in avatars, personas, emotion profiles and the motion checkpoint (data only)."""
