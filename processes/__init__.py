"""Oscar's process entry points, installed as ``oscar.processes``.

supervisord runs them as ``python -m oscar.processes.NAME``.
"""
