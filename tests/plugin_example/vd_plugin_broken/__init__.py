"""A deliberately broken protocol plugin: importing it fails, as a plugin with a missing dependency would."""

import vd_plugin_dependency_that_is_not_installed  # noqa: F401


class Protocol:  # never reached
    pass
