"""SODA 1.0 cutouts of GADF event lists: :mod:`params` (the cut) -> :mod:`service` (rights, files) ->
:mod:`eventfile` (the streamed FITS), :mod:`storage` (field-of-view overlap in SQL), :mod:`routes` (HTTP)."""
