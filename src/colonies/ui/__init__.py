"""The web dashboard's static files (ES modules, CSS, vendored libraries), served at ``/ui``.

Nothing here runs on the server: ``colonies.server.ui`` serves these files as they are.
"""
