"""The leads dashboard: page config, the sign-in gate and the navigation of the signed-in role
(lib.ui.navigation, lib.ui.auth); everything else lives in pages/ and lib/."""

from lib import ui

ui.navigation().run()
