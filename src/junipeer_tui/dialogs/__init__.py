"""Modal dialogs of the console: confirmations, Export One / Export Many, the filter builder and the
small forms of References and Configure."""
