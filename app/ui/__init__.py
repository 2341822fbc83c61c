"""The Gradio web app (the only package that imports gradio)."""
