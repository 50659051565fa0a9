"""The leads dashboard: page config and navigation (lib.ui.NAVIGATION); everything else lives in pages/
and lib/."""

from lib import ui

ui.navigation().run()
