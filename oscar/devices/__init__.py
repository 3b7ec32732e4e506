"""Device dialects: profiles (defaults as data), login recipes and reply framing.

- ``profiles``: ``Profile``, ``PROFILES``, ``get(name)`` — what each kind of gear needs set.
- ``logins``: ``start(recipe, username, password)`` -> a per-connection login session
  (pure: no sockets, no clock); the actor feeds it bytes and writes what it returns.
- ``reply_lines``: ``ReplyLines`` splits what a device sends into reply lines.
"""
