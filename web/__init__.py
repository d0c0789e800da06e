"""Server-rendered pages, the composition root (:func:`web.app.create_app`) and the ``tanhui`` CLI."""
