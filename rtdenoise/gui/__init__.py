"""The monitor window: a Qt-free layer of settings and sessions (``controller``), the window
(``window``) and its plots (``plots``), and ``rtdenoise gui`` (``command``). Only ``window`` and
``plots`` import Qt.
"""
