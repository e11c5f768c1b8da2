"""tune-contrib-example: provides a scheduler under a name another plugin already uses."""
