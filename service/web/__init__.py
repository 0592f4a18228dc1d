"""The HTTP shell: thin handlers over the application layer."""
